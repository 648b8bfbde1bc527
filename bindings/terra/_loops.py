"""The loops of a code object, read from its CPython 3.11 bytecode (DESIGN.md §7).

Called from C++ (bindings/src/code_info.cpp) only while looking for the program's hot loop, once
per code object (the answer is cached there).
"""
import dis

# Every loop ends with a jump back to its head; `continue` jumps back too.
_BACKWARD_JUMPS = frozenset({
    "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT", "POP_JUMP_BACKWARD_IF_TRUE", "POP_JUMP_BACKWARD_IF_FALSE",
    "POP_JUMP_BACKWARD_IF_NONE", "POP_JUMP_BACKWARD_IF_NOT_NONE",
})


def loops(code):
    """Every loop of `code` as sorted (head, end) byte offsets: head is the loop's first
    instruction, end its last backward jump; a loop nested in another is an entry of its own,
    inside its parent's range."""
    ends = {}
    for ins in dis.get_instructions(code):
        if ins.opname in _BACKWARD_JUMPS:
            ends[ins.argval] = max(ends.get(ins.argval, ins.offset), ins.offset)
    return _merge_partial_overlaps(sorted(ends.items()))


def _merge_partial_overlaps(spans):
    """Two jump spans that overlap without one containing the other belong to one loop: a `while`
    loop's `continue` jumps back to the condition while its last jump goes to the body's start,
    and an exception handler moved past the loop's end jumps back into the body."""
    while True:
        pair = next(((a, b) for a in spans for b in spans if a[0] < b[0] <= a[1] < b[1]), None)
        if pair is None:
            return spans
        a, b = pair
        spans = sorted([s for s in spans if s not in pair] + [(a[0], b[1])])
