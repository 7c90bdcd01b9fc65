// The AWS SDK for JavaScript v3 against a running chime-mock server.
//
//   CHIME_MOCK_ENDPOINT=http://127.0.0.1:PORT node chime_flow.mjs
//
// Drives every operation of @aws-sdk/client-chime-sdk-meetings the way a Node
// meeting backend does (fake credentials, endpoint from the environment) and
// checks what the SDK hands back: results, paging, error classes, metadata,
// retries.  It also uses the server's control API (/_chime_mock/...) to look
// at the state and to inject faults.  Prints one line per step; on the first
// failed check it prints "FAIL: ..." and exits 1.  Requests may only go to a
// loopback address: anything else is refused before it is sent.

import * as sdk from "@aws-sdk/client-chime-sdk-meetings";

const {
  ChimeSDKMeetingsClient,
  ChimeSDKMeetingsServiceException,
  BadRequestException,
  NotFoundException,
  ResourceNotFoundException,
  ThrottlingException,
  ServiceUnavailableException,
  paginateListAttendees,
  BatchCreateAttendeeCommand,
  BatchUpdateAttendeeCapabilitiesExceptCommand,
  CreateAttendeeCommand,
  CreateMeetingCommand,
  CreateMeetingWithAttendeesCommand,
  DeleteAttendeeCommand,
  DeleteMeetingCommand,
  GetAttendeeCommand,
  GetMeetingCommand,
  ListAttendeesCommand,
  ListTagsForResourceCommand,
  StartMeetingTranscriptionCommand,
  StopMeetingTranscriptionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAttendeeCapabilitiesCommand,
} = sdk;

const ENDPOINT = process.env.CHIME_MOCK_ENDPOINT;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]|::1)$/;

class CheckFailed extends Error {}
class NotLoopback extends CheckFailed {}

let checks = 0;
function check(condition, message, detail) {
  if (!condition) {
    throw new CheckFailed(detail === undefined ? message : `${message}: ${JSON.stringify(detail)}`);
  }
  checks += 1;
}
function equal(actual, expected, message) {
  check(JSON.stringify(actual) === JSON.stringify(expected),
        `${message}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}
function step(text) {
  console.log(`- ${text}`);
}

// Every command that succeeded, by name: at the end all of the package's commands must be there.
const succeeded = new Set();

function makeClient({ region = "us-east-1", accessKeyId = "AKIAIOSFODNN7EXAMPLE", endpoint = ENDPOINT,
                      maxAttempts } = {}) {
  const config = {
    region,
    credentials: { accessKeyId, secretAccessKey: "fake-secret-key-for-chime-mock" },
  };
  if (endpoint !== null) config.endpoint = endpoint;  // null: let the SDK find it (environment, config)
  if (maxAttempts !== undefined) config.maxAttempts = maxAttempts;
  const client = new ChimeSDKMeetingsClient(config);
  // A test that believes it is mocked must never reach AWS.
  client.middlewareStack.add((next) => async (args) => {
    const host = args.request && args.request.hostname;
    if (!LOOPBACK.test(String(host))) {
      throw new NotLoopback(`refusing to send a request to ${host}: only the loopback server is allowed`);
    }
    return next(args);
  }, { step: "finalizeRequest", name: "chimeMockLoopbackOnly", priority: "low" });
  client.middlewareStack.add((next, context) => async (args) => {
    const result = await next(args);
    succeeded.add(context.commandName);
    return result;
  }, { step: "initialize", name: "chimeMockRecordSuccess" });
  return client;
}

function checkMetadata(output, status, what) {
  const md = output.$metadata;
  check(md && typeof md === "object", `${what}: $metadata missing`);
  equal(md.httpStatusCode, status, `${what}: $metadata.httpStatusCode`);
  check(UUID.test(String(md.requestId)), `${what}: $metadata.requestId is not a UUID`, md.requestId);
}

async function expectError(promise, klass, what) {
  try {
    await promise;
  } catch (e) {
    if (e instanceof CheckFailed) throw e;
    check(e instanceof klass, `${what}: expected an instance of ${klass.name}, got ${e && e.name}: ${e && e.message}`);
    check(e instanceof ChimeSDKMeetingsServiceException,
          `${what}: ${e.name} is not a ChimeSDKMeetingsServiceException`);
    return e;
  }
  throw new CheckFailed(`${what}: expected ${klass.name}, but the call succeeded`);
}

function checkServiceError(e, { name, code, status, fault }, what) {
  equal(e.name, name, `${what}: e.name`);
  equal(e.Code, code, `${what}: e.Code`);
  equal(e.$fault, fault, `${what}: e.$fault`);
  check(typeof e.message === "string" && e.message.length > 0, `${what}: e.message is empty`);
  check(e.$metadata && typeof e.$metadata === "object", `${what}: e.$metadata missing`);
  equal(e.$metadata.httpStatusCode, status, `${what}: e.$metadata.httpStatusCode`);
  check(UUID.test(String(e.$metadata.requestId)), `${what}: e.$metadata.requestId is not a UUID`,
        e.$metadata.requestId);
  equal(e.RequestId, e.$metadata.requestId, `${what}: the body's RequestId is the header's`);
}

async function control(method, path, body) {
  const response = await fetch(new URL(`/_chime_mock/${path}`, ENDPOINT), {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  check(response.ok, `control ${method} /_chime_mock/${path}: HTTP ${response.status}`, text);
  return text ? JSON.parse(text) : {};
}

const ALL_SEND = { Audio: "SendReceive", Video: "SendReceive", Content: "SendReceive" };

async function main() {
  check(ENDPOINT, "CHIME_MOCK_ENDPOINT is not set (the chime-mock server's URL, e.g. http://127.0.0.1:4566)");
  const health = await control("GET", "health");
  equal(health.status, "ok", "the server's health");
  await control("POST", "reset");

  const chime = makeClient();

  step("CreateMeeting");
  const created = await chime.send(new CreateMeetingCommand({
    ClientRequestToken: "js-sdk-v3-token-1",
    ExternalMeetingId: "js-sdk-v3 & \"friends\" «demo»",
    MediaRegion: "us-east-1",
    Tags: [{ Key: "team", Value: "node" }],
  }));
  checkMetadata(created, 200, "CreateMeeting");
  const meeting = created.Meeting;
  const meetingId = meeting.MeetingId;
  check(UUID.test(meetingId), "MeetingId is not a UUID", meetingId);
  equal(meeting.MediaRegion, "us-east-1", "Meeting.MediaRegion");
  equal(meeting.ExternalMeetingId, "js-sdk-v3 & \"friends\" «demo»", "Meeting.ExternalMeetingId");
  check(/^arn:aws:chime:us-east-1:\d{12}:meeting\//.test(meeting.MeetingArn) && meeting.MeetingArn.endsWith(meetingId),
        "MeetingArn", meeting.MeetingArn);
  for (const key of ["AudioHostUrl", "AudioFallbackUrl", "SignalingUrl", "TurnControlUrl", "ScreenDataUrl",
                     "ScreenViewingUrl", "ScreenSharingUrl", "EventIngestionUrl"]) {
    check(typeof meeting.MediaPlacement[key] === "string" && meeting.MediaPlacement[key].length > 0,
          `MediaPlacement.${key} missing`, meeting.MediaPlacement);
  }

  step("CreateMeeting again with the same ClientRequestToken: the same meeting");
  const again = await chime.send(new CreateMeetingCommand({
    ClientRequestToken: "js-sdk-v3-token-1",
    ExternalMeetingId: "js-sdk-v3 & \"friends\" «demo»",
    MediaRegion: "us-east-1",
    Tags: [{ Key: "team", Value: "node" }],
  }));
  equal(again.Meeting.MeetingId, meetingId, "idempotent CreateMeeting");
  check(again.$metadata.requestId !== created.$metadata.requestId, "every call has its own request ID");

  step("GetMeeting");
  const got = await chime.send(new GetMeetingCommand({ MeetingId: meetingId }));
  checkMetadata(got, 200, "GetMeeting");
  equal(got.Meeting, meeting, "GetMeeting returns the created meeting");

  step("BatchCreateAttendee (25) and CreateAttendee");
  const wanted = Array.from({ length: 25 }, (_, i) => ({ ExternalUserId: `user-${String(i).padStart(2, "0")}` }));
  const batch = await chime.send(new BatchCreateAttendeeCommand({ MeetingId: meetingId, Attendees: wanted }));
  checkMetadata(batch, 200, "BatchCreateAttendee");
  equal(batch.Attendees.map((a) => a.ExternalUserId), wanted.map((a) => a.ExternalUserId),
        "BatchCreateAttendee attendees, in request order");
  equal(batch.Errors, [], "BatchCreateAttendee errors");
  for (const a of batch.Attendees) {
    check(UUID.test(a.AttendeeId), "AttendeeId layout", a.AttendeeId);
    check(typeof a.JoinToken === "string" && a.JoinToken.length > 0, "JoinToken", a);
    equal(a.Capabilities, ALL_SEND, "default capabilities");
  }
  const one = await chime.send(new CreateAttendeeCommand({
    MeetingId: meetingId, ExternalUserId: "o'brien & \"co\"",
    Capabilities: { Audio: "Receive", Video: "None", Content: "None" },
  }));
  checkMetadata(one, 200, "CreateAttendee");
  equal(one.Attendee.ExternalUserId, "o'brien & \"co\"", "CreateAttendee ExternalUserId");
  const expectedIds = [...batch.Attendees.map((a) => a.AttendeeId), one.Attendee.AttendeeId];

  step("ListAttendees paged by NextToken (MaxResults 10)");
  const paged = [];
  const pageSizes = [];
  let token;
  for (let page = 0; page < 20; page += 1) {
    const out = await chime.send(new ListAttendeesCommand({ MeetingId: meetingId, MaxResults: 10, NextToken: token }));
    checkMetadata(out, 200, "ListAttendees");
    pageSizes.push(out.Attendees.length);
    paged.push(...out.Attendees.map((a) => a.AttendeeId));
    token = out.NextToken;
    if (!token) break;
  }
  equal(pageSizes, [10, 10, 6], "ListAttendees page sizes");
  equal(paged, expectedIds, "ListAttendees pages: every attendee once, in creation order");

  step("paginateListAttendees (pageSize 7)");
  const viaPaginator = [];
  let pages = 0;
  for await (const page of paginateListAttendees({ client: chime, pageSize: 7 }, { MeetingId: meetingId })) {
    pages += 1;
    check(pages <= 20, "paginateListAttendees does not stop");
    viaPaginator.push(...page.Attendees.map((a) => a.AttendeeId));
  }
  equal(pages, 4, "paginateListAttendees pages");
  equal(viaPaginator, expectedIds, "paginateListAttendees: every attendee once, in creation order");

  step("a forged NextToken is a BadRequestException");
  const forged = await expectError(
    chime.send(new ListAttendeesCommand({ MeetingId: meetingId, NextToken: "not-a-token-of-this-meeting" })),
    BadRequestException, "forged NextToken");
  checkServiceError(forged, { name: "BadRequestException", code: "BadRequest", status: 400, fault: "client" },
                    "forged NextToken");

  step("MaxResults 101 is a BadRequestException (the SDK does not validate; the server does)");
  await expectError(chime.send(new ListAttendeesCommand({ MeetingId: meetingId, MaxResults: 101 })),
                    BadRequestException, "MaxResults 101");

  step("GetAttendee, UpdateAttendeeCapabilities, BatchUpdateAttendeeCapabilitiesExcept");
  const first = batch.Attendees[0];
  const gotAttendee = await chime.send(new GetAttendeeCommand({ MeetingId: meetingId, AttendeeId: first.AttendeeId }));
  checkMetadata(gotAttendee, 200, "GetAttendee");
  equal(gotAttendee.Attendee, first, "GetAttendee returns the created attendee");
  const updated = await chime.send(new UpdateAttendeeCapabilitiesCommand({
    MeetingId: meetingId, AttendeeId: first.AttendeeId,
    Capabilities: { Audio: "Send", Video: "Receive", Content: "None" },
  }));
  checkMetadata(updated, 200, "UpdateAttendeeCapabilities");
  equal(updated.Attendee.Capabilities, { Audio: "Send", Video: "Receive", Content: "None" },
        "UpdateAttendeeCapabilities result");
  const except = await chime.send(new BatchUpdateAttendeeCapabilitiesExceptCommand({
    MeetingId: meetingId, ExcludedAttendeeIds: [{ AttendeeId: first.AttendeeId }],
    Capabilities: { Audio: "Receive", Video: "Receive", Content: "Receive" },
  }));
  checkMetadata(except, 200, "BatchUpdateAttendeeCapabilitiesExcept");
  const second = await chime.send(new GetAttendeeCommand({ MeetingId: meetingId, AttendeeId: batch.Attendees[1].AttendeeId }));
  equal(second.Attendee.Capabilities, { Audio: "Receive", Video: "Receive", Content: "Receive" },
        "BatchUpdateAttendeeCapabilitiesExcept applied to the others");
  const still = await chime.send(new GetAttendeeCommand({ MeetingId: meetingId, AttendeeId: first.AttendeeId }));
  equal(still.Attendee.Capabilities, { Audio: "Send", Video: "Receive", Content: "None" },
        "BatchUpdateAttendeeCapabilitiesExcept left the excluded attendee alone");
  await expectError(chime.send(new UpdateAttendeeCapabilitiesCommand({
    MeetingId: meetingId, AttendeeId: first.AttendeeId,
    Capabilities: { Audio: "SendReceive", Video: "None", Content: "Receive" },
  })), BadRequestException, "Content Receive without Video");

  step("DeleteAttendee; GetAttendee on it is a NotFoundException");
  const deleted = await chime.send(new DeleteAttendeeCommand({ MeetingId: meetingId, AttendeeId: first.AttendeeId }));
  checkMetadata(deleted, 204, "DeleteAttendee");
  const gone = await expectError(chime.send(new GetAttendeeCommand({ MeetingId: meetingId, AttendeeId: first.AttendeeId })),
                                 NotFoundException, "GetAttendee after DeleteAttendee");
  checkServiceError(gone, { name: "NotFoundException", code: "NotFound", status: 404, fault: "client" },
                    "GetAttendee after DeleteAttendee");

  step("TagResource, ListTagsForResource, UntagResource");
  const arn = meeting.MeetingArn;
  const tagged = await chime.send(new TagResourceCommand({ ResourceARN: arn, Tags: [{ Key: "env", Value: "test" }] }));
  checkMetadata(tagged, 204, "TagResource");
  const tags = await chime.send(new ListTagsForResourceCommand({ ResourceARN: arn }));
  checkMetadata(tags, 200, "ListTagsForResource");
  equal([...tags.Tags].sort((a, b) => a.Key.localeCompare(b.Key)),
        [{ Key: "env", Value: "test" }, { Key: "team", Value: "node" }], "ListTagsForResource");
  const untagged = await chime.send(new UntagResourceCommand({ ResourceARN: arn, TagKeys: ["team"] }));
  checkMetadata(untagged, 204, "UntagResource");
  equal((await chime.send(new ListTagsForResourceCommand({ ResourceARN: arn }))).Tags,
        [{ Key: "env", Value: "test" }], "tags after UntagResource");
  const unknownArn = arn.replace(meetingId, "00000000-0000-4000-8000-000000000000");
  const noResource = await expectError(chime.send(new ListTagsForResourceCommand({ ResourceARN: unknownArn })),
                                       ResourceNotFoundException, "ListTagsForResource on an unknown ARN");
  equal(noResource.$metadata.httpStatusCode, 404, "unknown ARN status");
  equal(noResource.ResourceName, unknownArn, "ResourceNotFoundException.ResourceName");

  step("StartMeetingTranscription, StopMeetingTranscription (the state shows it)");
  const started = await chime.send(new StartMeetingTranscriptionCommand({
    MeetingId: meetingId,
    TranscriptionConfiguration: { EngineTranscribeSettings: { LanguageCode: "en-US" } },
  }));
  checkMetadata(started, 200, "StartMeetingTranscription");
  let seen = await control("GET", `meetings/${meetingId}`);
  check(seen.Transcription && seen.Transcription.EngineTranscribeSettings, "the state shows the transcription",
        seen.Transcription);
  equal(seen.Transcription.EngineTranscribeSettings.LanguageCode, "en-US", "transcription language in the state");
  await expectError(chime.send(new StartMeetingTranscriptionCommand({
    MeetingId: meetingId, TranscriptionConfiguration: {},
  })), BadRequestException, "StartMeetingTranscription with no engine");
  const stopped = await chime.send(new StopMeetingTranscriptionCommand({ MeetingId: meetingId }));
  checkMetadata(stopped, 200, "StopMeetingTranscription");
  seen = await control("GET", `meetings/${meetingId}`);
  equal(seen.Transcription, null, "transcription after StopMeetingTranscription");
  equal(seen.Attendees.length, 25, "the state's attendees after one deletion");

  step("CreateMeetingWithAttendees");
  const withAttendees = await chime.send(new CreateMeetingWithAttendeesCommand({
    ClientRequestToken: "js-sdk-v3-token-2",
    ExternalMeetingId: "js-with-attendees",
    MediaRegion: "eu-west-2",
    Attendees: [{ ExternalUserId: "alice" }, { ExternalUserId: "bob" }],
  }));
  checkMetadata(withAttendees, 200, "CreateMeetingWithAttendees");
  equal(withAttendees.Attendees.map((a) => a.ExternalUserId), ["alice", "bob"], "CreateMeetingWithAttendees attendees");
  equal(withAttendees.Errors, [], "CreateMeetingWithAttendees errors");
  equal(withAttendees.Meeting.MediaRegion, "eu-west-2", "CreateMeetingWithAttendees MediaRegion");

  step("retries: one injected ThrottlingException is retried by the SDK");
  await control("POST", "faults", { Error: "ThrottlingException", Operation: "GetMeeting", Times: 1 });
  const retried = await chime.send(new GetMeetingCommand({ MeetingId: meetingId }));
  equal(retried.$metadata.attempts, 2, "attempts after one ThrottlingException");
  const throttled = await control("GET", "journal?operation=GetMeeting&ok=false&limit=1");
  equal(throttled.calls.map((c) => [c.Status, c.Error, c.Injected]), [[429, "ThrottlingException", true]],
        "the journal shows the injected throttle");

  step("retries: a fault that does not stop surfaces as ThrottlingException after maxAttempts");
  const fault = await control("POST", "faults", { Error: "ThrottlingException", Operation: "GetMeeting", Times: null });
  const patient = makeClient({ maxAttempts: 2 });
  const throttle = await expectError(patient.send(new GetMeetingCommand({ MeetingId: meetingId })),
                                     ThrottlingException, "GetMeeting under a standing throttle");
  checkServiceError(throttle, { name: "ThrottlingException", code: "Throttling", status: 429, fault: "client" },
                    "standing throttle");
  equal(throttle.$metadata.attempts, 2, "attempts under a standing throttle");
  await control("DELETE", `faults/${fault.Id}`);
  await control("POST", "faults", { Error: "ServiceUnavailableException", Operation: "GetMeeting", Times: 1,
                                     RetryAfter: 1 });
  const afterUnavailable = await chime.send(new GetMeetingCommand({ MeetingId: meetingId }));
  equal(afterUnavailable.$metadata.attempts, 2, "attempts after one ServiceUnavailableException");
  const unavailableOnce = makeClient({ maxAttempts: 1 });
  await control("POST", "faults", { Error: "ServiceUnavailableException", Operation: "GetMeeting", Times: 1 });
  const unavailable = await expectError(unavailableOnce.send(new GetMeetingCommand({ MeetingId: meetingId })),
                                        ServiceUnavailableException, "ServiceUnavailableException");
  equal(unavailable.$fault, "server", "ServiceUnavailableException.$fault");
  equal(unavailable.$metadata.httpStatusCode, 503, "ServiceUnavailableException status");

  step("the control region comes from the SigV4 credential scope; a 12-digit access key is the account");
  const frankfurt = makeClient({ region: "eu-central-1", accessKeyId: "111122223333" });
  const there = (await frankfurt.send(new CreateMeetingCommand({
    ClientRequestToken: "js-sdk-v3-token-3", ExternalMeetingId: "frankfurt", MediaRegion: "eu-central-1",
  }))).Meeting;
  check(there.MeetingArn.startsWith("arn:aws:chime:eu-central-1:111122223333:meeting/"),
        "MeetingArn of a meeting created through eu-central-1 by account 111122223333", there.MeetingArn);
  const state = await control("GET", "state?account=111122223333&region=eu-central-1");
  equal(state.meetings.map((m) => m.MeetingId), [there.MeetingId], "the state of account 111122223333 in eu-central-1");

  step("AWS_ENDPOINT_URL_CHIME_SDK_MEETINGS reaches the server without an endpoint in code");
  if (process.env.AWS_ENDPOINT_URL_CHIME_SDK_MEETINGS) {
    const fromEnv = makeClient({ endpoint: null });
    const viaEnv = await fromEnv.send(new GetMeetingCommand({ MeetingId: meetingId }));
    equal(viaEnv.Meeting.MeetingId, meetingId, "GetMeeting through AWS_ENDPOINT_URL_CHIME_SDK_MEETINGS");
  } else {
    console.log("  (AWS_ENDPOINT_URL_CHIME_SDK_MEETINGS not set: skipped)");
  }

  step("a client pointed elsewhere is refused before anything is sent");
  const elsewhere = makeClient({ endpoint: "https://meetings-chime.us-east-1.amazonaws.com" });
  try {
    await elsewhere.send(new GetMeetingCommand({ MeetingId: meetingId }));
    throw new CheckFailed("a request to AWS itself was not refused");
  } catch (e) {
    check(e instanceof NotLoopback, `expected the loopback guard to refuse, got ${e && e.name}: ${e && e.message}`);
  }

  step("DeleteMeeting; GetMeeting on it is a NotFoundException caught by its class");
  const deletedMeeting = await chime.send(new DeleteMeetingCommand({ MeetingId: meetingId }));
  checkMetadata(deletedMeeting, 204, "DeleteMeeting");
  try {
    await chime.send(new GetMeetingCommand({ MeetingId: meetingId }));
    throw new CheckFailed("GetMeeting on a deleted meeting succeeded");
  } catch (e) {
    if (e instanceof CheckFailed) throw e;
    if (!(e instanceof NotFoundException)) {
      throw new CheckFailed(`GetMeeting on a deleted meeting: expected NotFoundException, got ${e.name}: ${e.message}`);
    }
    checkServiceError(e, { name: "NotFoundException", code: "NotFound", status: 404, fault: "client" },
                      "GetMeeting after DeleteMeeting");
    check(e.message.includes(meetingId), "the NotFound message names the meeting", e.message);
  }
  await expectError(chime.send(new CreateAttendeeCommand({ MeetingId: meetingId, ExternalUserId: "late" })),
                    NotFoundException, "CreateAttendee on a deleted meeting");

  step("every operation of the package was called successfully");
  const all = Object.keys(sdk).filter((name) => /^[A-Z]\w*Command$/.test(name));
  check(all.length >= 16, "the package exports the service's commands", all);
  const missing = all.filter((name) => !succeeded.has(name));
  equal(missing, [], "commands never called successfully");

  const journal = await control("GET", "journal?limit=1000");
  check(journal.calls.length > 40, "the server's journal has the calls", journal.calls.length);
  console.log(`chime_flow: ${checks} checks, ${all.length} operations, all passed`);
}

main().then(() => process.exit(0), (error) => {
  if (error instanceof CheckFailed) {
    console.error(`FAIL: ${error.message}`);
  } else {
    console.error(`FAIL: unexpected ${error && error.name}: ${error && error.message}`);
    if (error && error.$metadata) console.error(`  $metadata: ${JSON.stringify(error.$metadata)}`);
    if (error && error.stack) console.error(error.stack);
  }
  process.exit(1);
});
