"""The checker catches each kind of broken promise it exists for, and passes a clean run."""

from __future__ import annotations

import json
from pathlib import Path

from tests.faults.checker import History, Inbox, Seen, check
from tests.faults.log_replay import Logged


def clean_run() -> tuple[History, list[Inbox]]:
    history = History("planted")
    history.accepted("ann", "b1", "m1")
    history.accepted("ann", "b2", "m2")
    history.accepted("bob", "b3", "m3")
    history.fault("sigkill", 2)
    inboxes = [
        Inbox("ann", 1, (Seen("m2", "ann", "b2", False), Seen("m1", "ann", "b1", True))),
        Inbox("bob", 1, (Seen("m3", "bob", "b3", False),)),
    ]
    return history, inboxes


def test_a_clean_run_passes_and_its_figures_are_written(tmp_path: Path) -> None:
    history, inboxes = clean_run()
    verdict = check(history, inboxes)
    verdict.assert_ok()
    figures = json.loads(verdict.write(tmp_path).read_text())
    assert figures["messages_sent"] == 3
    assert figures["faults_injected"] == 2
    assert [figures[k] for k in ("lost", "duplicated", "unexpected", "count_drift")] == [0] * 4


def test_a_planted_loss_is_caught() -> None:
    history, inboxes = clean_run()
    inboxes[1] = Inbox("bob", 0, ())
    verdict = check(history, inboxes)
    assert not verdict.ok
    assert verdict.lost == ["bob: m3 'b3'"]
    assert not (verdict.duplicated or verdict.unexpected or verdict.drift)


def test_a_message_delivered_to_the_wrong_inbox_is_lost_and_unexpected() -> None:
    history, inboxes = clean_run()
    inboxes[0] = Inbox("ann", 2, (*inboxes[0].entries, Seen("m3", "ann", "b3", False)))
    inboxes[1] = Inbox("bob", 0, ())
    verdict = check(history, inboxes)
    assert verdict.lost == ["bob: m3 'b3'"]
    assert len(verdict.unexpected) == 1


def test_a_duplicate_is_caught_whether_listed_twice_or_stored_twice() -> None:
    history, inboxes = clean_run()
    twice = Seen("m3", "bob", "b3", False)
    inboxes[1] = Inbox("bob", 2, (twice, twice))
    assert len(check(history, inboxes).duplicated) == 1
    # The same accepted body stored under a second id: delivered twice in effect.
    inboxes[1] = Inbox("bob", 2, (twice, Seen("m9", "bob", "b3", False)))
    verdict = check(history, inboxes)
    assert len(verdict.duplicated) == 1
    assert not verdict.ok


def test_an_unexpected_message_is_caught_unless_an_indeterminate_send_explains_it() -> None:
    history, inboxes = clean_run()
    extra = Seen("m7", "bob", "b7", False)
    inboxes[1] = Inbox("bob", 2, (*inboxes[1].entries, extra))
    assert check(history, inboxes).unexpected == ["bob: m7 'b7'"]
    history.indeterminate("bob", "b7")
    check(history, inboxes).assert_ok()
    # An indeterminate send that never took effect is fine too.
    history.indeterminate("bob", "b8")
    check(history, inboxes).assert_ok()


def test_count_drift_is_caught_per_user_in_both_directions() -> None:
    history, inboxes = clean_run()
    inboxes[0] = Inbox("ann", 2, inboxes[0].entries)
    inboxes[1] = Inbox("bob", 0, inboxes[1].entries)
    verdict = check(history, inboxes)
    assert verdict.drift == {"ann": 1, "bob": -1}
    assert verdict.figures()["count_drift"] == 2
    assert not verdict.ok


def test_an_inbox_left_unread_is_refused() -> None:
    history, inboxes = clean_run()
    try:
        check(history, inboxes[:1])
    except AssertionError as error:
        assert "bob" in str(error)
    else:
        raise AssertionError("the checker judged a run without reading every inbox")


ANN_LOG = (Logged(1, 1, "m1"), Logged(2, 2, "m2"), Logged(3, 1, read=("m1",)))


def with_log(log: tuple[Logged, ...], version: int = 3) -> tuple[History, list[Inbox]]:
    history, inboxes = clean_run()
    ann = inboxes[0]
    inboxes[0] = Inbox(ann.user, ann.unread_count, ann.entries, log=log, version=version)
    return history, inboxes


def test_a_log_that_replays_to_the_inbox_passes() -> None:
    history, inboxes = with_log(ANN_LOG)
    verdict = check(history, inboxes)
    verdict.assert_ok()
    assert verdict.logs_checked == 1


def test_a_planted_log_gap_is_caught() -> None:
    history, inboxes = with_log((ANN_LOG[0], Logged(3, 2, "m2")))
    assert check(history, inboxes).log_errors[0].startswith("ann: log versions")


def test_a_version_the_counter_has_and_the_log_lacks_is_caught() -> None:
    history, inboxes = with_log(ANN_LOG, version=4)
    assert check(history, inboxes).log_errors == ["ann: log versions [1, 2, 3]..[1, 2, 3] for 4"]


def test_a_logged_count_that_disagrees_with_the_replay_is_caught() -> None:
    history, inboxes = with_log((*ANN_LOG[:2], Logged(3, 2, read=("m1",))))
    assert check(history, inboxes).log_errors == ["ann: v3 logged 2, replay 1"]


def test_a_message_received_twice_in_the_log_is_caught() -> None:
    log = (Logged(1, 1, "m1"), Logged(2, 1, "m1"), Logged(3, 2, "m2"), Logged(4, 1, read=("m1",)))
    history, inboxes = with_log(log, version=4)
    errors = check(history, inboxes).log_errors
    assert "ann: m1 received 2 times in the log" in errors


def test_a_log_that_ends_on_other_unread_messages_is_caught() -> None:
    history, inboxes = with_log((*ANN_LOG[:2], Logged(3, 1, read=("m2",))))
    assert check(history, inboxes).log_errors == [
        "ann: unread in the log only ['m1'], in the inbox only ['m2']"
    ]


def test_conversation_counts_that_do_not_add_up_are_caught() -> None:
    history = History("planted")
    history.accepted("ann", "b1", "m1")
    history.accepted("ann", "b2", "m2")
    history.accepted("ann", "b3", "m3")
    entries = (
        Seen("m3", "ann", "b3", False, "cat"),
        Seen("m2", "ann", "b2", False, "bob"),
        Seen("m1", "ann", "b1", True, "bob"),
    )
    check(history, [Inbox("ann", 2, entries, conversations={"bob": 1, "cat": 1})]).assert_ok()
    # One count too high, one conversation missing from the list.
    verdict = check(history, [Inbox("ann", 2, entries, conversations={"bob": 2})])
    assert not verdict.ok
    assert verdict.conversation_drift == {"ann/bob": 1, "ann/cat": -1}
    assert verdict.figures()["conversation_count_drift"] == 2
    assert not (verdict.lost or verdict.duplicated or verdict.unexpected or verdict.drift)


def with_senders(log: tuple[Logged, ...]) -> tuple[History, list[Inbox]]:
    """ann's inbox with m1 from bob (read) and m2 from cat (unread), and `log` as hers."""
    history, inboxes = clean_run()
    entries = (Seen("m2", "ann", "b2", False, "cat"), Seen("m1", "ann", "b1", True, "bob"))
    inboxes[0] = Inbox("ann", 1, entries, log=log, version=len(log))
    return history, inboxes


RECEIVED = (Logged(1, 1, "m1"), Logged(2, 2, "m2"))


def test_horizons_and_unread_marks_replay_to_the_inbox() -> None:
    conversation = Logged(3, 1, horizon=True, with_user="bob")
    check(*with_senders((*RECEIVED, conversation))).assert_ok()
    # Everything read, m2 unread again; m1 unread and read again.
    everything = (Logged(3, 0, horizon=True), Logged(4, 1, unread=("m2",)))
    again = (Logged(5, 2, unread=("m1",)), Logged(6, 1, read=("m1",)))
    check(*with_senders((*RECEIVED, *everything, *again))).assert_ok()


def test_a_conversation_horizon_counted_as_the_whole_inbox_is_caught() -> None:
    # It reads bob's m1 only: a count of 0 after it is the replay's 1.
    history, inboxes = with_senders((*RECEIVED, Logged(3, 0, horizon=True, with_user="bob")))
    assert check(history, inboxes).log_errors == ["ann: v3 logged 0, replay 1"]


def test_an_unread_mark_of_a_message_not_read_is_caught() -> None:
    log = (*RECEIVED, Logged(3, 1, read=("m1",)), Logged(4, 1, unread=("m2",)))
    history, inboxes = with_senders(log)
    assert check(history, inboxes).log_errors == ["ann: v4 unread ['m2'], which were not read"]


def test_a_horizon_logged_with_nothing_to_read_is_caught() -> None:
    log = (*RECEIVED, Logged(3, 1, read=("m1",)), Logged(4, 1, horizon=True, with_user="bob"))
    history, inboxes = with_senders(log)
    assert check(history, inboxes).log_errors == ["ann: v4 is a horizon that read nothing"]


def with_deletion(log: tuple[Logged, ...], *, listed: bool = False) -> tuple[History, list[Inbox]]:
    """ann received m1 (read) and m2; m2's sender deleted it, so the inbox holds m1 only
    (both, when `listed`)."""
    history, inboxes = clean_run()
    history.deleted_by_sender("m2")
    entries = [Seen("m1", "ann", "b1", True)]
    if listed:
        entries.insert(0, Seen("m2", "ann", "b2", False))
    inboxes[0] = Inbox("ann", int(listed), tuple(entries), log=log, version=len(log))
    return history, inboxes


DELETED = (*ANN_LOG, Logged(4, 0, deleted="m2"))


def test_a_deleted_message_is_neither_lost_nor_expected_and_its_deletion_replays() -> None:
    verdict = check(*with_deletion(DELETED))
    verdict.assert_ok()
    assert verdict.lost == []


def test_a_deleted_message_still_listed_is_caught() -> None:
    verdict = check(*with_deletion((*DELETED[:3], Logged(4, 1, deleted="m2")), listed=True))
    assert verdict.unexpected == ["ann: m2 listed after its sender deleted it"]
    assert "ann: m2 deleted in the log, still in the inbox" in verdict.log_errors


def test_a_deletion_that_leaves_the_count_as_it_was_is_caught() -> None:
    verdict = check(*with_deletion((*ANN_LOG, Logged(4, 1, deleted="m2"))))
    assert verdict.log_errors == ["ann: v4 logged 1, replay 0"]
