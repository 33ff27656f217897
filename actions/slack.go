package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Slack posts one message, through an incoming webhook (WebhookURL) or as a
// bot (Token and Channel, via chat.postMessage). The webhook URL and the
// token are secrets: neither appears in errors or output.
//
// Incoming webhooks (https://api.slack.com/messaging/webhooks) take JSON
// {text, blocks} and answer 200 "ok", or a 4xx/5xx status with a short
// error string such as invalid_payload or channel_not_found
// (https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks).
//
// chat.postMessage: https://docs.slack.dev/reference/methods/chat.postMessage
// takes JSON with the token as "Authorization: Bearer"; it answers
// {"ok":true,...} or {"ok":false,"error":"..."}, and HTTP 429 with
// Retry-After when rate limited (https://docs.slack.dev/apis/web-api/rate-limits).
type Slack struct {
	Client     *http.Client // nil uses a shared default
	WebhookURL string
	Token      string
	Channel    string
	APIURL     string // default https://slack.com/api
	Text       string
	Blocks     json.RawMessage
	Username   string
	IconEmoji  string
	UserAgent  string // sent with every request (hookd/<version>)
}

// DefaultSlackAPI is where chat.postMessage lives unless APIURL says otherwise.
const DefaultSlackAPI = "https://slack.com/api"

type slackMessage struct {
	Channel   string          `json:"channel,omitempty"`
	Text      string          `json:"text,omitempty"`
	Blocks    json.RawMessage `json:"blocks,omitempty"`
	Username  string          `json:"username,omitempty"`
	IconEmoji string          `json:"icon_emoji,omitempty"`
}

// Run posts the message.
func (s *Slack) Run(ctx context.Context, in *Input) (Result, error) {
	if s.Text == "" && len(s.Blocks) == 0 {
		return Result{}, Permanent(errors.New("slack: a message needs text or blocks"))
	}
	if len(s.Blocks) > 0 && !json.Valid(s.Blocks) {
		return Result{}, Permanent(errors.New("slack: blocks are not valid JSON"))
	}
	msg := slackMessage{Text: s.Text, Blocks: s.Blocks, Username: s.Username, IconEmoji: s.IconEmoji}
	switch {
	case s.WebhookURL != "":
		return s.webhook(ctx, msg)
	case s.Token != "":
		if s.Channel == "" {
			return Result{}, Permanent(errors.New("slack: a bot token needs a channel"))
		}
		msg.Channel = s.Channel
		return s.postMessage(ctx, msg)
	}
	return Result{}, Permanent(errors.New("slack: neither a webhook URL nor a token"))
}

func (s *Slack) webhook(ctx context.Context, msg slackMessage) (Result, error) {
	body, err := json.Marshal(msg)
	if err != nil {
		return Result{}, Permanent(fmt.Errorf("slack: %w", err))
	}
	x := exchange{
		client: s.Client,
		method: http.MethodPost,
		url:    s.WebhookURL,
		header: http.Header{"Content-Type": {"application/json"}},
		body:   body,
		label:  "slack",
		redact: true, // the path is the credential
		agent:  s.UserAgent,
	}
	res, err := x.do(ctx)
	if err != nil {
		return res, err
	}
	if res.Status >= 200 && res.Status <= 299 {
		return res, nil
	}
	err = fmt.Errorf("slack: webhook %s: %s%s", x.shown(), statusText(res.Status), slackReason(res.Output))
	if retryableStatus(res.Status) {
		return res, err
	}
	return res, Permanent(err)
}

func (s *Slack) postMessage(ctx context.Context, msg slackMessage) (Result, error) {
	body, err := json.Marshal(msg)
	if err != nil {
		return Result{}, Permanent(fmt.Errorf("slack: %w", err))
	}
	api := strings.TrimRight(s.APIURL, "/")
	if api == "" {
		api = DefaultSlackAPI
	}
	x := exchange{
		client: s.Client,
		method: http.MethodPost,
		url:    api + "/chat.postMessage",
		header: http.Header{
			"Content-Type":  {"application/json; charset=utf-8"},
			"Authorization": {"Bearer " + s.Token},
		},
		body:    body,
		label:   "slack",
		secrets: []string{s.Token},
		agent:   s.UserAgent,
	}
	// Slack echoes the message back, so the answer may outgrow the kept
	// tail; parse it whole.
	res, answerBody, err := x.doKeep(ctx, 4<<20)
	if err != nil {
		return res, err
	}
	where := "chat.postMessage"
	var answer struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if res.Status < 200 || res.Status > 299 {
		reason := slackReason(res.Output)
		if json.Unmarshal(answerBody, &answer) == nil && answer.Error != "" {
			reason = slackReason(x.scrub([]byte(answer.Error)))
		}
		err = fmt.Errorf("slack: %s: %s%s", where, statusText(res.Status), reason)
		if retryableStatus(res.Status) {
			return res, err
		}
		return res, Permanent(err)
	}
	if answerBody == nil {
		// Cut short or absurdly long: whether Slack posted is unknown, and
		// a duplicate message beats a lost one.
		return res, fmt.Errorf("slack: %s: %s with an unreadable answer", where, statusText(res.Status))
	}
	if err := json.Unmarshal(answerBody, &answer); err != nil {
		// A 2xx that is not Slack's JSON means APIURL points at something
		// that is not a Slack API; asking again will not change that.
		return res, Permanent(fmt.Errorf("slack: %s: answer is not Slack API JSON", where))
	}
	if answer.OK {
		return res, nil
	}
	reason := slackReason(x.scrub([]byte(answer.Error)))
	if reason == "" {
		reason = ": ok is false"
	}
	err = fmt.Errorf("slack: %s%s", where, reason)
	if slackTransient[answer.Error] {
		return res, err
	}
	return res, Permanent(err)
}

// slackTransient are the chat.postMessage errors that may clear by
// themselves; every other error (invalid_auth, channel_not_found,
// not_in_channel, is_archived, msg_too_long, invalid_blocks, ...) needs
// someone to change the configuration or the workspace.
var slackTransient = map[string]bool{
	"ratelimited":         true,
	"rate_limited":        true,
	"request_timeout":     true,
	"service_unavailable": true,
	"internal_error":      true,
	"fatal_error":         true,
	"team_added_to_org":   true,
}

// slackReason turns Slack's short error string into ": reason", bounded and
// reduced to one printable line; "" when there is none. The text has been
// scrubbed of secrets already.
func slackReason(b []byte) string {
	b = bytes.TrimSpace(b)
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	const max = 120
	r := []rune(string(b))
	if len(r) > max {
		r = append(r[:max], '…')
	}
	for i, c := range r {
		if c < 0x20 || c == 0x7f {
			r[i] = '?'
		}
	}
	if len(r) == 0 {
		return ""
	}
	return ": " + string(r)
}
