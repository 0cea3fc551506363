// DOM helpers, for every module of the page: el makes an HTML element,
// svg an SVG one, setText changes a text only if it is another, and
// throttled paces a redraw. Nothing here knows what the page shows.

const SVG_NS = "http://www.w3.org/2000/svg";

// el is a new element of tag, with class cls and text, each if given.
export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// setText gives e the text s, unless it has it: a text set anew, even
// the same one, is laid out again, and a card redrawn while a program
// runs sets a dozen texts that seldom change.
export function setText(e, s) {
  if (e.textContent !== s) e.textContent = s;
}

// svg is a new SVG element with these attributes, appended to parent if
// given.
export function svg(tag, attrs, parent) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.append(e);
  return e;
}

// throttled returns a schedule() that runs fn on an animation frame, once
// however often it is called meanwhile, and at most every `every` ms.
export function throttled(fn, every) {
  let scheduled = false;
  let ran = 0;
  return function schedule() {
    if (scheduled) return;
    scheduled = true;
    setTimeout(
      () =>
        requestAnimationFrame(() => {
          scheduled = false;
          ran = performance.now();
          fn();
        }),
      Math.max(0, every - (performance.now() - ran)),
    );
  };
}
