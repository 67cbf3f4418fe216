// Follows a job's progress by polling the REST API once a second (cookie auth), without reloading.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || box.dataset.done === "true") return;
  var id = box.dataset.jobId;
  var terminal = { succeeded: true, failed: true, cancelled: true };
  function text(elId, value) { var el = document.getElementById(elId); if (el) el.textContent = value; }
  function update(job) {
    var pct = Math.round(job.progress || 0);
    text("job-status", job.status);
    text("job-message", job.message || "");
    text("job-percent", pct + "%");
    var bar = document.getElementById("job-progress");
    if (bar) { bar.value = pct; bar.textContent = pct + "%"; }
    var err = document.getElementById("job-error");
    if (err) { err.textContent = job.error || ""; err.hidden = !job.error; }
    if (job.result && job.result.scan_id) {
      var link = document.getElementById("job-scan-link");
      link.href = "/scans/" + encodeURIComponent(job.result.scan_id);
      document.getElementById("job-result").hidden = false;
    }
    box.dataset.status = job.status;
    return terminal[job.status] === true;
  }
  function poll() {
    fetch("/api/v1/jobs/" + encodeURIComponent(id), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (job) { if (!update(job)) setTimeout(poll, 1000); })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1000);
})();
