// Display equations that fit the column, and boxes that show they scroll.
//
// MathJax 3 does not break a long display equation into lines; in a phone's column the
// right-hand terms of the longest ones would sit outside, in a box the reader has to
// scroll. Each display equation wider than its own box (the column, less its number) is
// set in a smaller size, just small enough to fit, but never below MIN_SCALE of the text
// around it. Every equation is sized again whenever its box changes width (a turned
// phone, a dropdown opened: a closed one has no width) and once the page and its fonts
// have loaded.
//
// Whatever still scrolls sideways (a wide table, an equation at its smallest) fades out
// at its right edge while more of it lies to the right: the class "labcode-more-right".
(() => {
  const MIN_SCALE = 0.6;
  const SCROLLERS = [
    'mjx-container[display="true"]',
    ".pst-scrollable-table-container",
    ".cell_output .output",
    "div.highlight pre",
  ].map((s) => `.bd-article ${s}`).join(", ");

  function cue(box) {
    const more = box.scrollLeft + box.clientWidth < box.scrollWidth - 1;
    box.classList.toggle("labcode-more-right", more);
  }

  function fit(math) {
    math.style.fontSize = "";
    const room = math.clientWidth;
    const needed = math.scrollWidth;
    if (room > 0 && needed > room) {
      const scale = Math.max(MIN_SCALE, Math.floor((room / needed) * 100) / 100);
      math.style.fontSize = `${Math.round(scale * 100)}%`;
    }
  }

  function start() {
    const boxes = document.querySelectorAll(SCROLLERS);
    const widths = new WeakMap();  // a new size, not a new width (its own font): no refit
    const update = (box) => {
      if (box.matches("mjx-container")) fit(box);
      cue(box);
    };
    const observer = new ResizeObserver((entries) => {
      for (const entry of entries) {
        const width = Math.round(entry.contentRect.width);
        if (widths.get(entry.target) !== width) {
          widths.set(entry.target, width);
          update(entry.target);
        }
      }
    });
    const all = () => boxes.forEach(update);
    boxes.forEach((box) => {
      update(box);
      observer.observe(box);
      box.addEventListener("scroll", () => cue(box), {passive: true});
    });
    // MathJax measures again once its fonts are in: the widths change, the boxes do not
    document.fonts?.ready.then(all);
    window.addEventListener("load", all);
    setTimeout(all, 500);
    document.documentElement.dataset.labcodeFit = "done";
  }

  function whenTypeset() {
    const ready = window.MathJax?.startup?.promise;
    if (ready) {
      ready.then(start);
    } else if (!document.querySelector(".math")) {
      start();  // a page without math
    } else {
      setTimeout(whenTypeset, 100);
    }
  }

  document.addEventListener("DOMContentLoaded", whenTypeset);
})();
