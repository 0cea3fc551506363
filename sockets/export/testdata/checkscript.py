"""Checks exported sockplay scripts with CPython's own parser.

It reads one JSON request a line on stdin:
    {"body": ..., "trailer": ..., "constants": [...]}
where body is a script without the export's header (the test checks that
the script begins with it), and answers each with one JSON line:
    {"problems": [...], "calls": [...]}
problems is empty when the body is only the statements and calls an
export writes, then its trailer; calls are the call targets the body has
("s1.connect", "socket.socket", "show").

Only the shapes the exporter writes are allowed: a call is a helper of
the header, a function of the socket, select, os or struct module the
exporter uses, or a socket method on a socket's variable; its arguments
are literals, socket variables and socket.CONST for the constants given.
Anything else (an import, an attribute of anything else, a call of a call,
a name the script does not define) is a problem. Comments must be
printable ASCII, and non-ASCII characters appear only in string literals.
"""

import ast
import io
import json
import re
import sys
import tokenize

VAR = re.compile(r"s[0-9]+\Z")
DERIVED = re.compile(r"s[0-9]+_(port|addr)\Z")
HELPERS = {"show", "wait_for", "recv_total", "recvall", "send_chunks", "unix_path"}
MODULE_CALLS = {
    ("socket", "socket"),
    ("socket", "getaddrinfo"),
    ("socket", "gethostbyname"),
    ("socket", "gethostname"),
    ("select", "select"),
    ("os", "unlink"),
    ("struct", "pack"),
    ("struct", "unpack"),
}
METHODS = {
    "bind", "listen", "accept", "connect", "send", "sendall", "sendto",
    "recv", "recvfrom", "settimeout", "setblocking", "gettimeout",
    "setsockopt", "getsockopt", "shutdown", "close", "getsockname",
    "getpeername",
}
LITERALS = (str, bytes, int, float, bool, type(None))


class Body:
    def __init__(self, constants):
        self.constants = set(constants)
        self.problems = []
        self.calls = []

    def bad(self, node, what):
        self.problems.append(f"line {getattr(node, 'lineno', '?')}: {what}: {ast.unparse(node)[:200]!r}")

    def is_var(self, node, derived=True):
        return isinstance(node, ast.Name) and (VAR.match(node.id) or derived and DERIVED.match(node.id))

    def expr(self, n):
        if isinstance(n, ast.Constant):
            if type(n.value) not in LITERALS:
                self.bad(n, "a constant of another type")
        elif isinstance(n, ast.Name):
            if not self.is_var(n) or not isinstance(n.ctx, ast.Load):
                self.bad(n, "a name that is no socket's variable")
        elif isinstance(n, ast.Attribute):
            if not (isinstance(n.value, ast.Name) and n.value.id == "socket" and n.attr in self.constants):
                self.bad(n, "an attribute that is no known socket constant")
        elif isinstance(n, (ast.Tuple, ast.List)):
            for e in n.elts:
                self.expr(e)
        elif isinstance(n, ast.UnaryOp):
            if not (isinstance(n.op, ast.USub) and isinstance(n.operand, ast.Constant) and type(n.operand.value) in (int, float)):
                self.bad(n, "an operator on something other than a number")
        elif isinstance(n, ast.BinOp):
            ok = (isinstance(n.op, ast.Mult) and isinstance(n.left, ast.Constant) and type(n.left.value) is bytes)
            r = n.right
            if isinstance(r, ast.UnaryOp) and isinstance(r.op, ast.USub):
                r = r.operand
            if not (ok and isinstance(r, ast.Constant) and type(r.value) is int):
                self.bad(n, "an operation other than bytes * int")
        elif isinstance(n, ast.Subscript):
            if not (isinstance(n.slice, ast.Constant) and type(n.slice.value) is int):
                self.bad(n, "a subscript that is not a number")
            if isinstance(n.value, ast.Call):
                self.call(n.value)
            else:
                self.bad(n, "a subscript of something other than a call")
        elif isinstance(n, ast.Call):
            self.call(n)
        else:
            self.bad(n, "an expression the export does not write")

    def call(self, n):
        f = n.func
        if isinstance(f, ast.Name) and f.id in HELPERS:
            self.calls.append(f.id)
        elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and (f.value.id, f.attr) in MODULE_CALLS:
            self.calls.append(f"{f.value.id}.{f.attr}")
        elif isinstance(f, ast.Attribute) and self.is_var(f.value, derived=False) and f.attr in METHODS:
            self.calls.append(f"{f.value.id}.{f.attr}")
        else:
            self.bad(n, "a call of something the export does not call")
            return
        for a in n.args:
            if isinstance(a, ast.Starred):
                self.bad(a, "a starred argument")
            else:
                self.expr(a)
        for k in n.keywords:
            if k.arg is None:
                self.bad(k.value, "a ** argument")
            else:
                self.expr(k.value)

    def simple(self, s):
        if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call):
            self.call(s.value)
        elif isinstance(s, ast.Assign) and len(s.targets) == 1:
            t = s.targets[0]
            if isinstance(t, ast.Tuple):
                if not (len(t.elts) == 2 and self.is_var(t.elts[0], derived=False) and self.is_var(t.elts[1])):
                    self.bad(s, "an assignment to other names than a socket's")
            elif not self.is_var(t):
                self.bad(s, "an assignment to another name than a socket's")
            self.expr(s.value)
        else:
            self.bad(s, "a statement the export does not write")

    def stmt(self, s):
        if not isinstance(s, ast.Try):
            self.simple(s)
            return
        if len(s.body) != 1 or s.orelse or s.finalbody or len(s.handlers) != 1:
            self.bad(s, "a try that is not one call and one handler")
            return
        self.simple(s.body[0])
        h = s.handlers[0]
        shown = (
            len(h.body) == 1
            and isinstance(h.body[0], ast.Expr)
            and isinstance(h.body[0].value, ast.Call)
            and ast.dump(h.body[0].value.func) == ast.dump(ast.Name("show", ast.Load()))
            and len(h.body[0].value.args) == 2
            and not h.body[0].value.keywords
            and isinstance(h.body[0].value.args[0], ast.Constant)
            and type(h.body[0].value.args[0].value) is int
            and ast.dump(h.body[0].value.args[1]) == ast.dump(ast.Name("e", ast.Load()))
        )
        if not (isinstance(h.type, ast.Name) and h.type.id == "Exception" and h.name == "e" and shown):
            self.bad(s, "a handler other than show(seq, e)")
        else:
            self.calls.append("show")


_parsed = {}


def statements(text):
    """The top-level statements of the trailer, parsed once."""
    if text not in _parsed:
        _parsed[text] = [ast.dump(s) for s in ast.parse(text).body]
    return _parsed[text]


def check(req):
    # The body is what follows the export's header, which ends with whole
    # statements and a blank line: the body reads alone as it reads in the
    # file, or not at all (an indented first line would belong to the
    # header's last function there, and is an error alone).
    body_text = req["body"]
    problems = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(body_text).readline):
            text = tok.string
            if tok.type == tokenize.COMMENT and not all(" " <= c <= "~" for c in text):
                problems.append(f"a comment that is not printable ASCII: {text!r}")
            elif tok.type == tokenize.ERRORTOKEN:
                problems.append(f"an error token {text!r}")
            elif tok.type != tokenize.STRING and any(ord(c) > 0x7E for c in text):
                problems.append(f"non-ASCII outside a string literal: {text!r}")
    except (tokenize.TokenError, SyntaxError) as e:
        problems.append(f"does not tokenize: {e}")
    try:
        tree = ast.parse(body_text)
        compile(tree, "export.py", "exec")
    except (SyntaxError, ValueError) as e:
        return {"problems": problems + [f"does not compile: {e}"], "calls": []}
    tail = statements(req["trailer"])
    stmts = tree.body
    if len(stmts) < len(tail) or [ast.dump(s) for s in stmts[len(stmts) - len(tail):]] != tail:
        problems.append("the script does not end with the export's trailer")
    body = Body(req["constants"])
    for s in stmts[: len(stmts) - len(tail)]:
        body.stmt(s)
    return {"problems": problems + body.problems, "calls": body.calls}


def main():
    for line in sys.stdin:
        try:
            out = check(json.loads(line))
        except Exception as e:  # a checker bug must fail the test, not hang it
            out = {"problems": [f"checker failed: {type(e).__name__}: {e}"], "calls": []}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
