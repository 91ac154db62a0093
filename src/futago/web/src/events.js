// One Server-Sent Events stream for the whole page; views subscribe by event type (or prefix).
import { onLanguage, t } from "./i18n.js";

const TYPES = [
  "twin.created", "twin.updated", "twin.deleted", "relationship.created", "relationship.deleted",
  "telemetry.appended", "alert.raised", "alert.acknowledged", "alert.escalated", "alert.resolved",
  "command.proposed", "command.approved", "command.rejected", "command.sent", "command.completed",
  "command.failed", "command.withdrawn", "notification.sent",
];
const listeners = [];
let connected = false;

export function on(prefix, fn) {
  listeners.push([prefix, fn]);
}

function dispatch(type, event) {
  for (const [prefix, fn] of listeners) {
    if (type === prefix || type.startsWith(prefix + ".")) {
      try {
        fn(event);
      } catch (error) {
        console.warn("event handler failed", type, error);
      }
    }
  }
}

export function connect() {
  const status = document.getElementById("live");
  const show = () => {
    status.textContent = connected ? "● " + t("live") : "○ " + t("offline");
    status.classList.toggle("off", !connected);
  };
  const source = new EventSource("/events");
  source.onopen = () => {
    connected = true;
    show();
  };
  source.onerror = () => {
    connected = false;
    show();
  };
  for (const type of TYPES) {
    source.addEventListener(type, (message) => dispatch(type, JSON.parse(message.data)));
  }
  show();
  onLanguage(show);
  return { refresh: show };
}
