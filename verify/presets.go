package verify

import (
	"crypto/sha1"
	"crypto/sha256"
	"time"
)

// presets are the senders whose scheme is an HMAC of the raw body, maybe
// after a timestamp, in one header. Each follows the document in doc; the
// README's provider table links the same pages.
var presets = []*preset{{
	// Linear-Signature: hex HMAC-SHA256 of the body. The body's
	// webhookTimestamp (unix ms) is to be within a minute of the clock.
	name: "linear", doc: "https://linear.app/developers/webhooks#securing-webhooks",
	header: "Linear-Signature", hash: sha256.New,
	tsBody: "webhookTimestamp", tolerance: time.Minute,
	id: inHeader("Linear-Delivery"), event: inHeader("Linear-Event"), exampleEvent: "Issue",
}, {
	// Sentry-Hook-Signature: hex HMAC-SHA256 of the body under the
	// integration's client secret.
	name: "sentry", doc: "https://docs.sentry.io/organization/integrations/integration-platform/webhooks/#verifying-the-signature",
	header: "Sentry-Hook-Signature", hash: sha256.New,
	id: inHeader("Request-ID"), event: inHeader("Sentry-Hook-Resource"), exampleEvent: "issue",
}, {
	// X-PagerDuty-Signature: "v1=<hex>[,v1=<hex>...]", one per secret
	// while PagerDuty rotates it.
	name: "pagerduty", doc: "https://developer.pagerduty.com/docs/webhooks/v3-overview/#verifying-signatures",
	header: "X-PagerDuty-Signature", hash: sha256.New, sigKey: "v1", sep: ",",
	id: inBody("event", "id"), event: inBody("event", "event_type"),
}, {
	// Paddle-Signature: "ts=<unix>;h1=<hex>", HMAC-SHA256 over "ts:body";
	// several h1 while a secret is rotated. Paddle's SDKs allow five
	// seconds of clock difference and the docs ask the same.
	name: "paddle", doc: "https://developer.paddle.com/webhooks/signature-verification",
	header: "Paddle-Signature", hash: sha256.New, sigKey: "h1", sep: ";", tsKey: "ts", signed: ":",
	tolerance: 5 * time.Second,
	id:        inBody("event_id"), event: inBody("event_type"),
}, {
	// Jira (Atlassian admin webhooks with a secret): X-Hub-Signature
	// "sha256=<hex>" of the body.
	name: "jira", doc: "https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks",
	header: "X-Hub-Signature", hash: sha256.New, sigKey: "sha256",
	id: inHeader("X-Atlassian-Webhook-Identifier"), event: inBody("webhookEvent"),
}, {
	// X-Buildkite-Signature: "timestamp=<unix>,signature=<hex>",
	// HMAC-SHA256 over "timestamp.body"; or, when the webhook is set to
	// send its token, the token in clear in X-Buildkite-Token.
	name: "buildkite", doc: "https://buildkite.com/docs/apis/webhooks/pipelines#webhook-signature",
	header: "X-Buildkite-Signature", hash: sha256.New, sigKey: "signature", sep: ",", tsKey: "timestamp", signed: ".",
	token: "X-Buildkite-Token",
	event: inHeader("X-Buildkite-Event"), exampleEvent: "build.finished",
}, {
	// circleci-signature: a comma separated list of versioned signatures;
	// v1 is the hex HMAC-SHA256 of the body, other versions are skipped.
	name: "circleci", doc: "https://circleci.com/docs/webhooks/#validate-webhooks",
	header: "Circleci-Signature", hash: sha256.New, sigKey: "v1", sep: ",",
	id: inBody("id"), event: inHeader("Circleci-Event-Type"), exampleEvent: "workflow-completed",
}, {
	// x-vercel-signature: hex HMAC-SHA1 of the body.
	name: "vercel", doc: "https://vercel.com/docs/webhooks/webhooks-api#securing-webhooks",
	header: "X-Vercel-Signature", hash: sha1.New,
	id: inBody("id"), event: inBody("type"),
}, {
	// Heroku-Webhook-Hmac-SHA256: base64 HMAC-SHA256 of the body. The
	// delivery id stays the same across attempts.
	name: "heroku", doc: "https://devcenter.heroku.com/articles/app-webhooks#securing-webhook-requests",
	header: "Heroku-Webhook-Hmac-SHA256", hash: sha256.New, base64: true,
	id: inBody("webhook_metadata", "delivery", "id"), event: inBody("webhook_metadata", "event", "include"),
}, {
	// Typeform-Signature: "sha256=<base64>" of the body.
	name: "typeform", doc: "https://www.typeform.com/developers/webhooks/secure-your-webhooks/",
	header: "Typeform-Signature", hash: sha256.New, base64: true, sigKey: "sha256",
	id: inBody("event_id"), event: inBody("event_type"),
}, {
	// Intercom: X-Hub-Signature "sha1=<hex>" of the body under the app's
	// client secret. The endpoint URL "must be able to receive a HEAD
	// request, which we use to validate the URL" (setting-up-webhooks).
	name: "intercom", doc: "https://developers.intercom.com/docs/webhooks/setting-up-webhooks#signed-notifications",
	header: "X-Hub-Signature", hash: sha1.New, sigKey: "sha1",
	id: inBody("id"), event: inBody("topic"), headCheck: true,
}}
