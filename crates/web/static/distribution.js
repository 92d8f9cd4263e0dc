// The distribution point. A USB card scanner is a keyboard: it types the household id into the
// focused field and presses Enter, so the field keeps the focus. Where the browser has a
// barcode detector (Chrome on Android, some desktops), the camera button reads the card's QR
// code and sends the id the same way; elsewhere the button stays hidden.
"use strict";
(function () {
  const form = document.getElementById("find-household");
  const field = document.getElementById("find-q");
  const button = document.getElementById("scan-camera");
  const video = document.getElementById("camera");
  if (!form || !field) return;
  field.focus();
  if (!button || !video || !("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  button.hidden = false;
  let stream = null;
  function stop() {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    video.hidden = true;
  }
  button.addEventListener("click", async function () {
    if (stream) { stop(); return; }
    let detector;
    try {
      detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    } catch (e) {
      stop();
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    const look = async function () {
      if (!stream) return;
      try {
        const codes = await detector.detect(video);
        if (codes.length > 0) {
          field.value = codes[0].rawValue;
          stop();
          form.submit();
          return;
        }
      } catch (e) { /* a frame not ready yet: look again */ }
      window.setTimeout(look, 250);
    };
    look();
  });
})();
