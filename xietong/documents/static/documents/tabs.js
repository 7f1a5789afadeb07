// On a phone the tabs scroll sideways: bring the active one into view.
document.querySelector("#documents-nav a.active")?.scrollIntoView({ block: "nearest", inline: "center" });
