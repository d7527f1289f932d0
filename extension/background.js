// The service worker: after installing, the options page opens so the person can enter
// the server address and token before the popup's first use.
chrome.runtime.onInstalled.addListener(({ reason }) => {
  if (reason === chrome.runtime.OnInstalledReason.INSTALL) chrome.runtime.openOptionsPage();
});
