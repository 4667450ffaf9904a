"""A deterministic fake LLM and the workflows the tutorials use, so nothing needs an API key."""

from __future__ import annotations

import hashlib
from typing import Any

from .runtime.context import Context
from .runtime.events import Event, HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent
from .runtime.step import step
from .runtime.workflow import Workflow

_JOKES = [
    "Why do chemists like nitrates so much? They're cheaper than day rates.",
    "I'd tell you a chemistry joke, but I know I wouldn't get a reaction.",
    "Never trust an atom: they make up everything.",
    "Helium walks into a bar. The bartender says: we don't serve noble gases. Helium doesn't react.",
]


class FakeLLM:
    """Answers a prompt with a canned text chosen by the prompt's hash: same prompt, same answer."""

    def __init__(self, answers: list[str] | None = None) -> None:
        self.answers = answers or _JOKES
        self.calls: list[str] = []

    async def acomplete(self, prompt: str) -> str:
        """The deterministic completion of ``prompt``."""
        self.calls.append(prompt)
        if prompt.startswith("Critique"):
            joke = prompt.split(":", 1)[-1].strip()
            return f"Critique: {len(joke.split())} words; the pun lands. Rating 7/10."
        digest = hashlib.sha256(prompt.encode()).digest()
        return self.answers[digest[0] % len(self.answers)]


class JokeEvent(Event):
    """A joke written by the first step."""

    joke: str


class JokeFlow(Workflow):
    """Writes a joke about a topic, then critiques it (the story of the tutorials)."""

    llm = FakeLLM()

    @step
    async def generate_joke(self, ev: StartEvent) -> JokeEvent:
        joke = await self.llm.acomplete(f"Write your best joke about {ev.topic}.")
        return JokeEvent(joke=joke)

    @step
    async def critique_joke(self, ev: JokeEvent) -> StopEvent:
        critique = await self.llm.acomplete(f"Critique this joke: {ev.joke}")
        return StopEvent(result=critique)


class ReviewFlow(Workflow):
    """Drafts a text, asks a human to approve it, then publishes or revises it.

    A person may take a while to answer, so its runs have no time limit (``timeout=None``)
    instead of the 45 s default.
    """

    llm = FakeLLM()

    def __init__(self, timeout: float | None = None, **kwargs: Any) -> None:
        super().__init__(timeout=timeout, **kwargs)

    @step
    async def draft(self, ev: StartEvent, ctx: Context) -> InputRequiredEvent:
        text = await self.llm.acomplete(f"Write a joke about {ev.topic}.")
        await ctx.store.set("draft", text)
        return InputRequiredEvent(prefix=f"Publish this joke? (yes/no)\n{text}")

    @step
    async def decide(self, ev: HumanResponseEvent, ctx: Context) -> StopEvent:
        draft = await ctx.store.get("draft")
        if ev.response.strip().lower() in ("y", "yes"):
            return StopEvent(result=f"published: {draft}")
        return StopEvent(result=f"rejected: {draft}")
