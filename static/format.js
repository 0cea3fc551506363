// How numbers and times read on the page: counts with thousands
// separators, plurals, session times and durations.

// fmt writes a number as 262,144. One formatter for the page:
// toLocaleString builds a new one on every call, which costs more than
// drawing what it labels.
export const fmt = new Intl.NumberFormat("en").format;

// plural is "1 byte", "2 bytes".
export const plural = (n, one, many = one + "s") => `${fmt(n)} ${n === 1 ? one : many}`;

// secs writes session microseconds as seconds: 1.500000 s.
export const secs = (us) => `${(us / 1e6).toFixed(6)} s`;

// duration writes microseconds in the unit that reads best.
export function duration(us) {
  if (us >= 1e6) return `${(us / 1e6).toFixed(3)} s`;
  if (us >= 1e3) return `${(us / 1e3).toFixed(1)} ms`;
  return `${Math.round(us)} µs`;
}
