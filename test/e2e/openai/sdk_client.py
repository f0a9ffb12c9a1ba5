"""Drive the gateway with the official OpenAI Python SDK (test/e2e/client_test.go).

Usage: sdk_client.py BASE_URL SCENARIO. Prints one JSON object: what the SDK
returned or raised, and how many HTTP requests it sent (counted by an httpx
event hook on the SDK's own client, so the SDK's retries are counted too).
The assertions live in the Go test.
"""
import json
import sys

import openai

SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


@scenario
def chat(c):
    r = c.chat.completions.create(model="auto", max_tokens=10,
                                  messages=[{"role": "user", "content": "2+2 is"}])
    return {"model": r.model, "text": r.choices[0].message.content}


@scenario
def completion(c):
    r = c.completions.create(model="llama3-8b", prompt="Hello, who are you?", max_tokens=10)
    return {"model": r.model, "text": r.choices[0].text}


@scenario
def chat_stream(c):
    models, text = set(), []
    for chunk in c.chat.completions.create(model="auto", max_tokens=50, stream=True,
                                           messages=[{"role": "user", "content": "2+2 is"}]):
        models.add(chunk.model)
        for ch in chunk.choices:
            text.append(ch.delta.content or "")
    return {"model": ",".join(sorted(models)), "text": "".join(text)}


@scenario
def completion_stream(c):
    models, text = set(), []
    for chunk in c.completions.create(model="llama3-8b", prompt="stream me these words please",
                                      max_tokens=50, stream=True):
        models.add(chunk.model)
        text.extend(ch.text for ch in chunk.choices)
    return {"model": ",".join(sorted(models)), "text": "".join(text)}


@scenario
def unknown_model(c):
    c.chat.completions.create(model="gpt-9", max_tokens=10,
                              messages=[{"role": "user", "content": "hi"}])
    return {}


@scenario
def malformed(c):
    # The SDK does not validate its arguments: messages goes out as a string.
    c.chat.completions.create(model="auto", max_tokens=10, messages="not a list")
    return {}


@scenario
def absent_model(c):
    c.chat.completions.create(model="phi4-mini", max_tokens=10,
                              messages=[{"role": "user", "content": "hi"}])
    return {}


def main():
    base, name = sys.argv[1], sys.argv[2]
    sent = []
    http = openai.DefaultHttpxClient(event_hooks={"request": [lambda req: sent.append(str(req.url))]})
    # Default retries (2) as a user gets them; backoff kept short for the test.
    c = openai.OpenAI(base_url=base + "/v1", api_key="unused", http_client=http, timeout=30)
    out = {"scenario": name}
    try:
        out.update(SCENARIOS[name](c))
        out["ok"] = True
    except openai.APIStatusError as e:
        out.update(ok=False, exception=type(e).__name__, status=e.status_code,
                   message=e.response.text or str(e), retryable=c._should_retry(e.response))
    except openai.APIError as e:
        out.update(ok=False, exception=type(e).__name__, message=str(e))
    out["requests"] = len(sent)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
