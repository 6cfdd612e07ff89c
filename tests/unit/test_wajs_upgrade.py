"""``make wajs-upgrade``: what changed in the declarations of the names the worker uses."""

from __future__ import annotations

from pathlib import Path

from devstack.wajs_upgrade import DIST, changes, used_declarations
from worker_container.wajs import FUNCTIONS


def test_every_name_the_worker_uses_has_its_declaration_in_the_pinned_package() -> None:
    found = used_declarations(DIST)
    assert set(FUNCTIONS) <= set(found)
    assert [name for name, text in found.items() if text == "(missing)\n"] == []


def test_a_changed_signature_is_shown_and_a_reworded_comment_is_not(tmp_path: Path) -> None:
    before = {
        "chat.sendTextMessage": "/** Send */\nexport declare function send(to: string): void;\n"
    }
    signature = "export declare function send(to: string): void;\n"
    reworded = {"chat.sendTextMessage": "/** Sends a text */\n" + signature}
    changed = {"chat.sendTextMessage": "export declare function send(to: Wid): void;\n"}
    assert changes(before, reworded) == ""
    diff = changes(before, changed)
    assert "-export declare function send(to: string): void;" in diff
    assert "+export declare function send(to: Wid): void;" in diff
    assert "(missing)" in changes(before, {})
