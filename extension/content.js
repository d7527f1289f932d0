// Injected into the active tab by the popup (chrome.scripting.executeScript, thanks to
// activeTab). It only reads the DOM: the text of the markup script element (never run)
// and the data-* attributes of the marker element. The value of the last expression is
// what the popup receives; markup.js checks it.
(() => {
  const scripts = Array.from(
    document.querySelectorAll('script[type="application/vnd.syncd.scheduling+json"]'),
    (element) => element.textContent,
  );
  const elements = Array.from(document.querySelectorAll("[data-syncd-scheduling]"), (element) =>
    Object.fromEntries(Object.entries(element.dataset)),
  );
  return { scripts, elements };
})();
