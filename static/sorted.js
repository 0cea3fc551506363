// Searches in what the page keeps in order: the log's events by seq, a
// track's offsets, the rows' tops. One binary search serves them all.

// firstIndex is the first i in [0, n) for which ok(i) holds, or n: ok
// must be false and then true along the range.
export function firstIndex(n, ok) {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ok(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

// upper is the first index i with a[i] > x (a sorted ascending).
export function upper(a, x) {
  return firstIndex(a.length, (i) => a[i] > x);
}

// findEvent is the event of seq in events kept in seq order, or null.
export function findEvent(events, seq) {
  const i = firstIndex(events.length, (j) => events[j].seq >= seq);
  return i < events.length && events[i].seq === seq ? events[i] : null;
}
