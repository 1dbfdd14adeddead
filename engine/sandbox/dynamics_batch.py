"""`POST /api/data/v9.2/$batch` for the Dynamics emulator (execute-batch-operations-using-web-api.md):

- a `multipart/mixed` body of `application/http` parts, each a raw request; at most 1,000 requests;
- change sets (a nested `multipart/mixed`) are atomic: when one request fails, the ones before it are
  rolled back and the change set answers that single error; GET is not allowed inside one;
- `Content-ID: n` makes `$n` stand for the record created by that request, in a later URL (`PATCH $1`) or
  bind (`"primarycontactid@odata.bind": "$2"`) of the same change set; an unknown `$n` answers 400
  `Content-ID Reference: '$n' does not exist in the batch context.`;
- by default the first failing request stops the batch: the answer holds the responses so far and that
  error, with the error's status as the batch status (the documented example answers 400 for a 400);
  with `Prefer: odata.continue-on-error` every request runs and the batch answers 200;
- responses are `--batchresponse_<id>` parts (`--changesetresponse_<id>` inside change sets) carrying
  their own status line, `Location` and `OData-EntityId`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

from engine.sandbox.dynamics_errors import DataverseError, DvResponse
from engine.sandbox.dynamics_handlers import ApiRequest, split_path
from engine.sandbox.dynamics_write import Reference

MAX_REQUESTS = 1000
BOUNDARY_RE = re.compile(r'boundary="?([^";,\s]+)"?', re.IGNORECASE)
API_PATH_RE = re.compile(r"/api/data/(v9\.[0-2])/")


@dataclass
class Part:
    headers: dict[str, str]
    body: str
    children: list[Part] = field(default_factory=list)  # a change set's requests


def boundary_of(content_type: str | None) -> str | None:
    match = BOUNDARY_RE.search(content_type or "")
    return match.group(1) if match else None


def split_multipart(text: str, boundary: str) -> list[Part]:
    delimiter, closing = f"--{boundary}", f"--{boundary}--"
    parts: list[Part] = []
    current: list[str] | None = None
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.rstrip() in (delimiter, closing):
            if current is not None:
                parts.append(parse_part("\n".join(current)))
            current = None if line.rstrip() == closing else []
            if current is None:
                break
        elif current is not None:
            current.append(line)
    return parts


def parse_part(raw: str) -> Part:
    head, _, body = raw.partition("\n\n")
    headers = {}
    for line in head.split("\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    part = Part(headers, body)
    inner = (
        boundary_of(headers.get("content-type"))
        if "multipart/mixed" in headers.get("content-type", "")
        else None
    )
    if inner:
        part.children = split_multipart(body, inner)
    return part


def batch_error(message: str) -> DataverseError:
    return DataverseError(400, "0x80048d19", message)


class BatchMixin:
    """Needs from the host: `dispatch(ApiRequest) -> DvResponse`, save_state/restore_state."""

    dispatch: Callable[[ApiRequest], DvResponse]
    save_state: Callable[[], dict]
    restore_state: Callable[[dict], None]

    def batch_request(self, req: ApiRequest) -> DvResponse:
        if req.method != "POST":
            raise DataverseError(
                405, "", f"The requested resource does not support http method '{req.method}'."
            )
        boundary = boundary_of(req.header("content-type"))
        if boundary is None or "multipart/mixed" not in (req.header("content-type") or ""):
            raise batch_error("The content type of a $batch request must be multipart/mixed with a boundary.")
        parts = split_multipart(req.body.decode("utf-8", "replace"), boundary)
        if sum(max(1, len(p.children)) for p in parts) > MAX_REQUESTS:
            raise batch_error(f"Number of requests in the batch exceeded the limit of {MAX_REQUESTS}.")
        continue_on_error = "odata.continue-on-error" in req.prefer
        out_boundary = f"batchresponse_{uuid.uuid4()}"
        chunks: list[str] = []
        status = 200
        for part in parts:
            text, failed = self.run_item(req, part)
            chunks.append(f"--{out_boundary}\r\n{text}")
            if failed is not None and not continue_on_error:
                status = failed
                break
        body = "".join(chunks) + f"--{out_boundary}--\r\n"
        headers = {"Content-Type": f"multipart/mixed; boundary={out_boundary}", "OData-Version": "4.0"}
        return DvResponse(status, headers, body.encode("utf-8"))

    def run_item(self, outer: ApiRequest, part: Part) -> tuple[str, int | None]:
        """(serialized part, status if it failed)."""
        if part.children or "multipart/mixed" in part.headers.get("content-type", ""):
            return self.run_changeset(outer, part)
        response = self.run_one(outer, part, {}, in_changeset=False)
        return http_part(response, None), (response.status if response.status >= 400 else None)

    def run_changeset(self, outer: ApiRequest, part: Part) -> tuple[str, int | None]:
        saved = self.save_state()
        refs: dict[str, Reference] = {}
        answers: list[tuple[DvResponse, str | None]] = []
        for child in part.children:
            content_id = child.headers.get("content-id")
            response = self.run_one(outer, child, refs, in_changeset=True)
            if response.status >= 400:
                self.restore_state(saved)
                return http_part(response, content_id), response.status
            if content_id and response.entity_url:
                refs["$" + content_id] = self.reference_of(response.entity_url)
            answers.append((response, content_id))
        boundary = f"changesetresponse_{uuid.uuid4()}"
        inner = "".join(f"--{boundary}\r\n{http_part(r, cid)}" for r, cid in answers) + f"--{boundary}--\r\n"
        return f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n{inner}", None

    def reference_of(self, entity_url: str) -> Reference:
        entity_set, key, _ = split_path(entity_url.rsplit("/", 1)[-1])
        return self.schema[entity_set].logical, key or ""  # type: ignore[attr-defined]

    def run_one(
        self, outer: ApiRequest, part: Part, refs: dict[str, Reference], in_changeset: bool
    ) -> DvResponse:
        try:
            inner = self.inner_request(outer, part, refs)
            if in_changeset and inner.method == "GET":
                raise batch_error("GET requests are not allowed inside a change set.")
            return self.dispatch(inner)
        except DataverseError as exc:
            return exc.answer()

    def inner_request(self, outer: ApiRequest, part: Part, refs: dict[str, Reference]) -> ApiRequest:
        head, _, body = part.body.partition("\n\n")
        lines = head.split("\n")
        request_line = lines[0].split()
        if len(request_line) < 2:
            raise batch_error(
                "A batch part must start with a request line such as 'POST /api/data/v9.2/accounts HTTP/1.1'."
            )
        method, url = request_line[0].upper(), request_line[1]
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        path, query, version = self.inner_target(outer, url, refs)
        return ApiRequest(
            method, path, query, headers, body.strip().encode("utf-8"), outer.org, version, refs
        )

    def inner_target(self, outer: ApiRequest, url: str, refs: dict[str, Reference]) -> tuple[str, list, str]:
        if url.startswith("$"):
            ref, _, rest = url.partition("/")
            if ref not in refs:
                raise DataverseError(
                    400, "", f"Content-ID Reference: '{ref}' does not exist in the batch context."
                )
            logical, record_id = refs[ref]
            entity_set = next(t.entity_set for t in self.schema.values() if t.logical == logical)  # type: ignore[attr-defined]
            return f"{entity_set}({record_id})" + (f"/{rest}" if rest else ""), [], outer.version
        split = urlsplit(url)
        path = split.path
        match = API_PATH_RE.search(path + "/" if path.endswith(("v9.0", "v9.1", "v9.2")) else path)
        version = outer.version
        if match:
            version = match.group(1)
            path = path[match.end() :]
        return path.lstrip("/"), parse_qsl(split.query, keep_blank_values=True), version


def http_part(response: DvResponse, content_id: str | None) -> str:
    head = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
    if content_id:
        head += f"Content-ID: {content_id}\r\n"
    lines = [f"HTTP/1.1 {response.status} {HTTPStatus(response.status).phrase}"]
    headers = dict(response.headers)
    if "OData-EntityId" in headers:
        headers.setdefault("Location", headers["OData-EntityId"])
    lines += [f"{name}: {value}" for name, value in headers.items()]
    body = (response.body or b"").decode("utf-8")
    return f"{head}\r\n" + "\r\n".join(lines) + "\r\n\r\n" + (body + "\r\n" if body else "\r\n")
