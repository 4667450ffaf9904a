"""Small LangGraph graphs for the adapter tests: a joke pipeline, a human question, a failure."""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt


class JokeState(TypedDict, total=False):
    topic: str
    joke: str
    rating: int


def generate_topic(state: JokeState) -> JokeState:
    return {"topic": state["topic"] + " and cats"}


def write_joke(state: JokeState) -> JokeState:
    return {"joke": f"a joke about {state['topic']}"}


def rate(state: JokeState) -> JokeState:
    return {"rating": len(state["joke"])}


def joke_builder() -> StateGraph:
    """topic → generate_topic → write_joke → rate."""
    b = StateGraph(JokeState)
    b.add_node("generate_topic", generate_topic)
    b.add_node("write_joke", write_joke)
    b.add_node("rate", rate)
    b.add_edge(START, "generate_topic")
    b.add_edge("generate_topic", "write_joke")
    b.add_edge("write_joke", "rate")
    b.add_edge("rate", END)
    return b


class ReviewState(TypedDict, total=False):
    draft: str
    verdict: str
    log: Annotated[list[str], operator.add]


def draft(state: ReviewState) -> ReviewState:
    return {"draft": f"draft of {state['draft']}", "log": ["drafted"]}


def review(state: ReviewState) -> ReviewState:
    answer = interrupt({"question": f"Publish {state['draft']!r}?"})
    return {"verdict": str(answer), "log": ["reviewed"]}


def review_builder() -> StateGraph:
    """draft → review (asks a human with interrupt())."""
    b = StateGraph(ReviewState)
    b.add_node("draft", draft)
    b.add_node("review", review)
    b.add_edge(START, "draft")
    b.add_edge("draft", "review")
    b.add_edge("review", END)
    return b


def explode(state: JokeState) -> JokeState:
    raise ValueError(f"no joke about {state['topic']}")


def failing_builder() -> StateGraph:
    """generate_topic → explode (raises)."""
    b = StateGraph(JokeState)
    b.add_node("generate_topic", generate_topic)
    b.add_node("explode", explode)
    b.add_edge(START, "generate_topic")
    b.add_edge("generate_topic", "explode")
    b.add_edge("explode", END)
    return b


def thread(ckptr: object, thread_id: str) -> list:
    """Every checkpoint of a thread as the saver holds it, its input checkpoint first."""
    return ckptr.filter_checkpoints(run_id=thread_id, include_start=True)  # type: ignore[attr-defined]
