"""The Fine stage: organise locally.

Looks at the new messages with a little earlier context and at the user's active
memories (from the user's directory aggregate, which is consistent with the
memories because both are written in one transaction), asks the extractor for
decisions, and records them as events on the right Memory IDs. Episodes whose
content is fully represented by Fine memories are archived with links to them, and so
are the still active episodes behind a memory a conflict revises (they state the old value).

Episodes that carry no information (greetings, thanks, laughter, acknowledgements,
assistant pleasantries; ``domain.information`` decides from their tokens) are archived
with reason ``no_information``: they would otherwise stay active forever and crowd a
user's memories and search results. Only the episode is archived; the raw input stays
in the event log. The extractor still sees such turns in its window, because "ok" can
accept an offer the assistant made; a memory made from it supersedes the episode.

System messages are left out of the extractor's window: an instruction to the
assistant ("You are a helpful assistant.") must never become a fact about the user.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eventsourcing.domain import Aggregate

from application.memory_app import MemoryApplication
from domain.envelope import InputEnvelope
from domain.attachments import message_attachments
from domain.information import carries_information
from domain.extraction import Decision, ExistingMemory, Extraction, ExtractionRequest, Extractor, WindowMessage
from domain.memory import Memory
from domain.raw_input import RawInput, episode_id
from domain.user_directory import UserDirectory
from domain.values import Reason, Stage
from application.fast_stage import message_id_of, message_text, source_of

NO_INFORMATION_POLICY = "information-classifier"
"""``decided_by`` of a no-information archive: the policy, not the extractor, decided it."""


@dataclass
class RefineResult:
    created: list[str] = field(default_factory=list)
    revised: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    skipped: bool = False


def directory_entry(memory: Memory) -> dict[str, Any]:
    """What the directory keeps of a memory: enough to decide without loading it."""
    return {
        "kind": memory.kind,
        "key": memory.key,
        "content": memory.content,
        "version": memory.version,
        "slots": dict(memory.slots),
        "preference_type": memory.preference_type,
        "reasoning": memory.reasoning,
        "confidence": memory.confidence,
        "latest_chat_time": memory.latest_chat_time(),
        "source_roles": sorted({s.get("role") or "" for s in memory.sources}),
        "attributes": dict(memory.attributes),
    }


def existing_from_entry(memory_id: str, entry: dict[str, Any]) -> ExistingMemory:
    return ExistingMemory(
        memory_id=memory_id,
        kind=entry["kind"],
        key=entry["key"],
        content=entry["content"],
        version=entry["version"],
        slots=dict(entry.get("slots") or {}),
        preference_type=entry.get("preference_type"),
        reasoning=entry.get("reasoning"),
        confidence=entry.get("confidence", 1.0),
        latest_chat_time=entry.get("latest_chat_time"),
        source_roles=tuple(entry.get("source_roles") or ()),
        attributes=dict(entry.get("attributes") or {}),
    )


def window_messages(envelope: InputEnvelope, is_new: bool) -> list[WindowMessage]:
    return [
        WindowMessage(
            message_id=message_id_of(envelope, i),
            event_id=envelope.event_id,
            role=m.role,
            text=message_text(m),
            chat_time=m.chat_time,
            name=m.name,
            is_new=is_new,
            tool_name=m.tool_name,
            tool_input=m.tool_input,
            tool_output=m.tool_output,
            status=m.status,
            latency_ms=m.latency_ms,
            attachments=tuple(message_attachments(m)),
        )
        for i, m in enumerate(envelope.messages)
        if m.role != "system"  # the app's instructions, never a statement about the user
    ]


class FineStage:
    def __init__(self, store: MemoryApplication, extractor: Extractor, context_messages: int = 6) -> None:
        self.store = store
        self.extractor = extractor
        self.context_messages = context_messages

    def plan(
        self, raw: RawInput, directory: UserDirectory, cause: dict[str, Any]
    ) -> tuple[list[Aggregate], RefineResult]:
        """Decide and build the pending events for one recorded input (not yet saved)."""
        envelope = InputEnvelope.model_validate(raw.payload)
        previous = self._previous_input(directory, envelope)
        context = window_messages(previous, is_new=False) if previous else []
        context = context[-self.context_messages :] if self.context_messages else []
        messages = context + window_messages(envelope, is_new=True)
        existing = tuple(
            existing_from_entry(mid, e) for mid, e in directory.entries.items()
        )
        extraction = self.extractor.extract(
            ExtractionRequest(user_id=envelope.user_id, messages=tuple(messages), existing=existing)
        )
        sources = {}
        if previous is not None:
            sources = {message_id_of(previous, i): source_of(previous, i) for i in range(len(previous.messages))}
        sources.update(
            {message_id_of(envelope, i): source_of(envelope, i) for i in range(len(envelope.messages))}
        )
        touched: dict[str, Memory] = {}
        result = RefineResult()
        decided_by = extraction.decided_by or getattr(self.extractor, "name", "extractor")
        conflicted: dict[str, list[dict[str, Any]]] = {}
        for decision in extraction.decisions:
            if decision.action == "revise" and decision.reason == Reason.CONFLICT.value and decision.memory_id:
                before = touched.get(decision.memory_id) or self._load(decision.memory_id)
                if before is not None and decision.memory_id not in conflicted:
                    conflicted[decision.memory_id] = [dict(x) for x in before.sources]
            self._apply(decision, envelope, sources, cause, decided_by, touched, result)
        pending: list[Aggregate] = list(touched.values())
        covered = self._archive_covered(envelope, extraction, touched, cause, decided_by, result)
        pending += covered
        pending += self._archive_no_information(envelope, {str(e.id) for e in covered}, touched, cause, result)
        pending += self._archive_revised_sources(conflicted, envelope.event_id, touched, cause, decided_by, result)
        directory.update(
            upserts={mid: directory_entry(m) for mid, m in touched.items() if m.is_active and m.kind != "episode"},
            removals=[mid for mid, m in touched.items() if not m.is_active],
            conversation_id=envelope.conversation_id,
            event_id=envelope.event_id,
        )
        raw.mark_refined(decided_by=decided_by, memory_ids=sorted(touched))
        return pending + [directory, raw], result

    def _previous_input(self, directory: UserDirectory, envelope: InputEnvelope) -> InputEnvelope | None:
        event_id = directory.last_input.get(envelope.conversation_id or "")
        if not event_id or event_id == envelope.event_id:
            return None
        raw = self.store.raw_input(event_id, directory.user_id)
        if raw is None:
            return None
        return InputEnvelope.model_validate(raw.payload)

    def _apply(
        self,
        decision: Decision,
        envelope: InputEnvelope,
        sources: dict[str, dict],
        cause: dict[str, Any],
        decided_by: str,
        touched: dict[str, Memory],
        result: RefineResult,
    ) -> None:
        new_sources = [sources[m] for m in decision.source_message_ids if m in sources]
        if decision.action == "create":
            memory = Memory(
                user_id=envelope.user_id,
                conversation_id=envelope.conversation_id,
                agent_id=envelope.agent_id,
                app_id=envelope.app_id,
                kind=decision.kind,
                key=decision.key,
                content=decision.content,
                stage=Stage.FINE.value,
                reason=decision.reason,
                cause=cause,
                decided_by=decided_by,
                preference_type=decision.preference_type,
                reasoning=decision.reasoning,
                confidence=decision.confidence,
                tags=sorted(set(envelope.tags) | set(decision.tags)),
                sources=new_sources,
                slots=decision.slots,
                attributes=decision.attributes,
            )
            touched[str(memory.id)] = memory
            result.created.append(str(memory.id))
            return
        if decision.action == "noop" or not decision.memory_id:
            return
        memory = touched.get(decision.memory_id) or self._load(decision.memory_id)
        if memory is None or not memory.is_active:
            return
        touched[decision.memory_id] = memory
        if decision.action == "revise":
            memory.revise(
                content=decision.content,
                key=decision.key or None,
                preference_type=decision.preference_type,
                reasoning=decision.reasoning,
                confidence=decision.confidence,
                new_sources=new_sources,
                slots=decision.slots or None,
                attributes={**memory.attributes, **decision.attributes},
                stage=Stage.FINE.value,
                reason=decision.reason,
                cause=cause,
                decided_by=decided_by,
            )
            result.revised.append(decision.memory_id)
        elif decision.action == "archive":
            memory.archive(
                stage=Stage.FINE.value,
                reason=decision.reason,
                cause=cause,
                decided_by=decided_by,
                superseded_by=[decision.merge_into] if decision.merge_into else [],
            )
            result.archived.append(decision.memory_id)

    def _load(self, memory_id: str) -> Memory | None:
        return self.store.memory(memory_id)

    def _archive_covered(
        self,
        envelope: InputEnvelope,
        extraction: Extraction,
        touched: dict[str, Memory],
        cause: dict[str, Any],
        decided_by: str,
        result: RefineResult,
    ) -> list[Aggregate]:
        """Archive the episodes of messages the Fine memories fully represent."""
        archived: list[Aggregate] = []
        for index in range(len(envelope.messages)):
            message_id = message_id_of(envelope, index)
            if message_id not in extraction.covered_message_ids:
                continue
            successors = sorted(
                {mid for mid, m in touched.items()
                 if m.is_active and any(s.get("message_id") == message_id for s in m.sources)}
                | set(extraction.held_by.get(message_id, ()))
            )
            if not successors:
                continue  # nothing replaces it: keep the raw text searchable
            archived += self._archive_episodes(self._episodes_of(envelope.event_id, index, envelope.user_id), Reason.SUPERSEDED,
                                               cause, decided_by, successors, result)
        return archived

    def _archive_no_information(
        self,
        envelope: InputEnvelope,
        done: set[str],
        touched: dict[str, Memory],
        cause: dict[str, Any],
        result: RefineResult,
    ) -> list[Aggregate]:
        """Archive the still active episodes of user/assistant turns that carry no information."""
        archived: list[Aggregate] = []
        for index, message in enumerate(envelope.messages):
            if message.role not in ("user", "assistant") or carries_information(message.text()):
                continue
            message_id = message_id_of(envelope, index)
            citing = sorted(mid for mid, m in touched.items()
                            if m.is_active and any(s.get("message_id") == message_id for s in m.sources))
            episodes = [e for e in self._episodes_of(envelope.event_id, index, envelope.user_id) if str(e.id) not in done]
            archived += self._archive_episodes(episodes, Reason.NO_INFORMATION, cause, NO_INFORMATION_POLICY,
                                               citing, result)
        return archived

    @staticmethod
    def _archive_episodes(
        episodes: list[Memory],
        reason: Reason,
        cause: dict[str, Any],
        decided_by: str,
        superseded_by: list[str],
        result: RefineResult,
    ) -> list[Aggregate]:
        for episode in episodes:
            episode.archive(
                stage=Stage.FINE.value,
                reason=reason.value,
                cause=cause,
                decided_by=decided_by,
                superseded_by=superseded_by,
            )
            result.archived.append(str(episode.id))
        return list(episodes)

    def _archive_revised_sources(
        self,
        revised: dict[str, list[dict[str, Any]]],
        current_event_id: str,
        touched: dict[str, Memory],
        cause: dict[str, Any],
        decided_by: str,
        result: RefineResult,
    ) -> list[Aggregate]:
        """A conflict revised a memory: the episodes its earlier sources wrote state the old value.

        Why: the memory now says 深圳, but the episode "我在北京工作" would still be found by
        search and read as current. Those episodes are archived, superseded by the revised
        memory; the raw input stays in the event log.
        """
        archived: list[Aggregate] = []
        seen: set[str] = set(result.archived)
        for memory_id, old_sources in revised.items():
            memory = touched.get(memory_id)
            if memory is None or not memory.is_active:
                continue
            for source in old_sources:
                if source.get("event_id") == current_event_id:
                    continue  # this input states the new value
                index = self._message_index(source.get("event_id"), source.get("message_id"), memory.user_id)
                if index is None:
                    continue
                episodes = [e for e in self._episodes_of(source["event_id"], index, memory.user_id)
                            if str(e.id) not in seen and str(e.id) not in touched]
                seen.update(str(e.id) for e in episodes)
                archived += self._archive_episodes(episodes, Reason.SUPERSEDED, cause, decided_by,
                                                   [memory_id], result)
        return archived

    def _message_index(self, event_id: str | None, message_id: str | None, user_id: str) -> int | None:
        """Where a source message sits in the input that carried it (episodes are keyed by index)."""
        if not event_id or not message_id:
            return None
        raw = self.store.raw_input(event_id, user_id)
        if raw is None:
            return None
        try:
            envelope = InputEnvelope.model_validate(raw.payload)
        except ValueError:
            return None
        return next((i for i in range(len(envelope.messages)) if message_id_of(envelope, i) == message_id), None)

    def _episodes_of(self, event_id: str, index: int, user_id: str) -> list[Memory]:
        """The episodes of one message of ``user_id``'s input ``event_id`` (their ids carry
        the input's scope, domain/raw_input.py)."""
        raw = self.store.raw_input(event_id, user_id)
        scope = getattr(raw, "scope", None)
        first = self._load(str(episode_id(event_id, str(index), scope)))
        if first is None or not first.is_active:
            return []
        rest = [
            self._load(str(episode_id(event_id, f"{index}.{part}", scope)))
            for part in range(1, int(first.attributes.get("chunks", 1)))
        ]
        return [first] + [e for e in rest if e is not None and e.is_active]


def load_or_open_directory(store: MemoryApplication, user_id: str) -> UserDirectory:
    return store.directory(user_id)
