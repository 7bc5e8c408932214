// Small read buffers for reads that mostly wait (an idle tunnel keeps one read pending per
// direction), carved from shared slabs. A `new Uint8Array(512)` is an ArrayBuffer of its own: a
// JS object, a backing store and a malloc'd block, ~0.3 KB on top of its bytes, and thousands
// of long-lived 512-byte blocks scattered in the C heap keep the memory freed around them
// resident. A slot is a view into a 32 KB slab; it goes back to a free list when its owner is
// done with it (no read nor write of it pending), for the next tunnel.

/** Bytes of a slot. */
export const SLOT = 512;
const SLAB = 32 * 1024;
/** Free slots kept for reuse (512 bytes each, so at most 2 MB). */
const FREE_MAX = 4096;
const free: Uint8Array[] = [];
let slab: ArrayBuffer | null = null;
let carved = SLAB;

/** A SLOT-byte buffer (its bytes are whatever its last owner left there). */
export function takeSlot(): Uint8Array {
  const b = free.pop();
  if (b !== undefined) return b;
  if (carved === SLAB) {
    slab = new ArrayBuffer(SLAB);
    carved = 0;
  }
  carved += SLOT;
  return new Uint8Array(slab!, carved - SLOT, SLOT);
}

/** Gives a slot back; a buffer takeSlot() did not make is left to the GC. */
export function giveSlot(b: Uint8Array): void {
  if (b.length === SLOT && b.buffer.byteLength === SLAB && free.length < FREE_MAX) free.push(b);
}

/** Slots on the free list (tests use it to check that tunnels give theirs back). */
export function freeSlots(): number {
  return free.length;
}

/**
 * Frees a buffer's memory now rather than at the next GC (its ArrayBuffer is detached: every
 * view of it reads as empty from then on). For buffers nothing can still view nor read into: a
 * burst of WebSocket upgrades left ~5 KB per tunnel of handshake buffers to the GC, and once
 * collected that memory stayed resident between the tunnels' long-lived allocations.
 */
export function freeNow(b: Uint8Array): void {
  const ab = b.buffer;
  if (!(ab instanceof ArrayBuffer) || b.byteOffset !== 0 || b.length !== ab.byteLength) return;
  if (ab.byteLength === 0) return;
  try {
    ab.transfer(0);
  } catch { /* not detachable: left to the GC */ }
}
