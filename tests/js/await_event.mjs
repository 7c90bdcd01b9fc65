// Await one meeting event from a chime-mock server over HTTP (Node >= 18: global fetch).
//
//   node await_event.mjs URL TYPE [ATTENDEE_ID] [TIMEOUT_SECONDS]
//
// Long-polls GET URL/_chime_mock/events?cursor=N&wait=S&type=TYPE until an event of TYPE
// (e.g. "AttendeeJoined") arrives, prints it (the EventBridge envelope, one JSON line) and exits 0;
// exits 1 if none arrives within the timeout, 2 on a bad answer.
const [url, type, attendeeId = "", timeoutText = "20"] = process.argv.slice(2);
if (!url || !type) {
  console.error("usage: node await_event.mjs URL TYPE [ATTENDEE_ID] [TIMEOUT_SECONDS]");
  process.exit(2);
}
const deadline = Date.now() + Number(timeoutText) * 1000;
let cursor = 0;
while (Date.now() < deadline) {
  const wait = Math.max(0, Math.min(10, (deadline - Date.now()) / 1000));
  const query = new URLSearchParams({ cursor: String(cursor), wait: wait.toFixed(1), type });
  if (attendeeId) query.set("attendee_id", attendeeId);
  const answer = await fetch(`${url}/_chime_mock/events?${query}`);
  if (!answer.ok) {
    console.error(`GET /_chime_mock/events answered ${answer.status}: ${await answer.text()}`);
    process.exit(2);
  }
  const { Events: events, Cursor: next } = await answer.json();
  if (!Array.isArray(events) || typeof next !== "number") {
    console.error("unexpected answer shape");
    process.exit(2);
  }
  const found = events.find((e) => e.detail && e.detail.eventType === `chime:${type}`);
  if (found) {
    console.log(JSON.stringify(found));
    process.exit(0);
  }
  cursor = next;
}
console.error(`no ${type} event within ${timeoutText} seconds`);
process.exit(1);
