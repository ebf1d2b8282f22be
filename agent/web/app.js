// The console works without this script; it adds an upload progress bar
// and waits for the appliance to come back after a reboot.
"use strict";

(function () {
  // A form with data-progress is uploaded by XMLHttpRequest so that the
  // bar can follow the upload; the answer (the same page the plain post
  // would show) then replaces the page's main part.
  function progressUpload(form) {
    var bar = document.getElementById(form.getAttribute("data-progress"));
    var text = document.getElementById("progress-text");
    form.addEventListener("submit", function (ev) {
      if (!window.FormData || !window.XMLHttpRequest) {
        return;
      }
      ev.preventDefault();
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.disabled = true;
      }
      bar.hidden = false;
      bar.value = 0;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable && e.total > 0) {
          var pct = Math.floor((e.loaded * 100) / e.total);
          bar.value = pct;
          text.textContent = pct + " %";
        }
      });
      xhr.upload.addEventListener("load", function () {
        bar.value = 100;
        text.textContent = "100 %: uploaded, installing…";
      });
      xhr.addEventListener("load", function () {
        var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var main = doc.getElementById("main");
        if (main) {
          document.getElementById("main").replaceWith(document.importNode(main, true));
        }
        var done = document.getElementById(form.getAttribute("data-progress"));
        var doneText = document.getElementById("progress-text");
        var f = document.querySelector("form[data-progress]");
        if (done && doneText) {
          done.hidden = false;
          done.value = 100;
          doneText.textContent = xhr.status < 400 ? "100 %: done" : "100 %: refused";
        }
        if (f) {
          progressUpload(f);
        }
      });
      xhr.addEventListener("error", function () {
        if (button) {
          button.disabled = false;
        }
        text.textContent = "The upload failed; check the connection and try again.";
      });
      xhr.send(new FormData(form));
    });
  }

  // The rebooting page polls the status page until the appliance answers
  // from a new start (another boot id), then goes there.
  function waitForReboot(el) {
    var boot = document.body.getAttribute("data-boot");
    var started = Date.now();
    function poll() {
      if (Date.now() - started > 10 * 60 * 1000) {
        el.textContent = "The appliance has not come back after ten minutes; check its console.";
        return;
      }
      fetch(el.getAttribute("data-poll"), { cache: "no-store", credentials: "same-origin" })
        .then(function (res) {
          return res.text();
        })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var now = doc.body && doc.body.getAttribute("data-boot");
          if (now && now !== boot) {
            window.location.assign(el.getAttribute("data-poll"));
            return;
          }
          setTimeout(poll, 1000);
        })
        .catch(function () {
          setTimeout(poll, 1000);
        });
    }
    setTimeout(poll, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var forms = document.querySelectorAll("form[data-progress]");
    for (var i = 0; i < forms.length; i++) {
      progressUpload(forms[i]);
    }
    var reboot = document.querySelector("[data-poll]");
    if (reboot) {
      waitForReboot(reboot);
    }
  });
})();
