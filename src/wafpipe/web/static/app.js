// Every page: auto-refresh, log out, copy an event as JSON, replay dead letters (Health), acknowledge alerts. Text only ever goes into the page as
// textContent, never as HTML.
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

document.addEventListener("DOMContentLoaded", () => {
  const refresh = document.getElementById("refresh");
  if (refresh) {
    const saved = window.localStorage.getItem("wafpipe.refresh") || "0";
    refresh.value = saved;
    const arm = () => {
      const seconds = Number(refresh.value);
      if (seconds > 0) window.setTimeout(() => window.location.reload(), seconds * 1000);
    };
    refresh.addEventListener("change", () => {
      window.localStorage.setItem("wafpipe.refresh", refresh.value);
      window.location.reload();
    });
    arm();
  }
  const logout = document.getElementById("logout");
  if (logout) {
    logout.addEventListener("click", async () => {
      await fetch("/logout", { method: "POST", headers: { "X-CSRF-Token": csrfToken() } });
      window.location.assign("/login");
    });
  }
  const replay = document.getElementById("replay");
  if (replay) {
    replay.addEventListener("click", async () => {
      const result = document.getElementById("replay-result");
      replay.disabled = true;
      result.hidden = false;
      result.textContent = "Replaying…";
      try {
        const resp = await fetch("/api/deadletters/replay", {
          method: "POST", headers: { "X-CSRF-Token": csrfToken() },
        });
        const body = await resp.json();
        result.textContent = resp.ok ? body.lines.join("\n") + "\n(reload the page to see what is left)"
                                     : "Not replayed: " + body.error;
      } catch (err) {
        result.textContent = "Not replayed: the collector did not answer (" + err + ")";
      }
      result.dataset.done = "1";
      replay.disabled = false;
    });
  }
  for (const button of document.querySelectorAll("button.ack")) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      const resp = await fetch("/api/alerts/ack?ids=" + encodeURIComponent(button.dataset.id), {
        method: "POST", headers: { "X-CSRF-Token": csrfToken() },
      });
      button.replaceWith(document.createTextNode(resp.ok ? "acknowledged" : "not acknowledged (" + resp.status + ")"));
    });
  }
  const copy = document.getElementById("copy-json");
  if (copy) {
    copy.addEventListener("click", async () => {
      const text = document.getElementById("document").textContent;
      try {
        await navigator.clipboard.writeText(text);
        copy.textContent = "Copied";
      } catch (err) {
        copy.textContent = "Select the document below and copy it";
      }
    });
  }
});
