/* kbtool help center: "Was this helpful?" — only included when `feedback_url` is configured.
   Posts {article_id, outcome, source: "help-center"} to the widget's data-kb-feedback URL on a click;
   makes no request otherwise. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest(".kb-feedback__vote") : null;
    if (!button) return;
    var box = button.closest(".kb-feedback");
    if (!box || box.getAttribute("data-voted")) return;
    box.setAttribute("data-voted", button.getAttribute("data-outcome"));
    var thanks = box.querySelector(".kb-feedback__thanks");
    var votes = box.querySelectorAll(".kb-feedback__vote");
    for (var i = 0; i < votes.length; i++) votes[i].disabled = true;
    fetch(box.getAttribute("data-kb-feedback"), {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({
        article_id: box.getAttribute("data-article"),
        outcome: button.getAttribute("data-outcome"),
        source: "help-center"
      })
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      if (thanks) thanks.textContent = "Thanks for your feedback.";
    }).catch(function () {
      box.removeAttribute("data-voted");
      for (var i = 0; i < votes.length; i++) votes[i].disabled = false;
      if (thanks) thanks.textContent = "Sorry, your feedback could not be sent. Please try again.";
    });
  });
})();
