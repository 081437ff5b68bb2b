// Login page: shows the static failure note when the hub redirected with ?failed=1.
// Nothing from the URL is put in the page.
if (new URLSearchParams(location.search).has("failed")) {
  document.getElementById("login-failed").hidden = false;
}
