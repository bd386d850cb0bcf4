// Boot: drop the token from the address bar (the cookie carries it), load the status, route.
"use strict";
(async function () {
  const url = new URL(location.href);
  if (url.searchParams.has("token")) {
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  await CV.pollStatus();
  window.addEventListener("hashchange", CV.render);
  await CV.render();
  document.body.dataset.ready = "1";
})();
