//! The evaluator: walks parse trees with Go's `text/template` execution semantics (`exec.go`).
//!
//! Go distinguishes an *invalid* value (a missing map key, nil data, the result of a pipeline
//! that produced nil) from a *nil interface* value (a JSON null inside a map or list). The first
//! silently yields `<no value>` when a field is taken from it; the second is Go's famous
//! `nil pointer evaluating interface {}.x` error. The evaluator models the difference with
//! [`Dot`]: `None` is invalid, `Some(Value::Nil)` a nil interface.

use std::fmt::Display;
use std::rc::Rc;
use std::sync::Arc;

use crate::builtins;
use crate::fmt;
use crate::literal::Number;
use crate::parse::{Arg, Branch, Command, Node, Pipe, Source, Tree};
use crate::template::{ExecContext, MissingKey, Set};
use crate::value::Value;

/// A value as Go's `reflect.Value` sees it: invalid (the zero `reflect.Value`), a value of a
/// concrete type, or a value held in an `interface {}` (a map element, a list element), whose
/// static type Go reports as `interface {}` in errors and which may be a nil interface.
#[derive(Clone, Debug)]
pub(crate) enum Dot {
    Invalid,
    Concrete(Value),
    Iface(Value),
}

impl Dot {
    fn of(v: Value) -> Dot {
        if v.is_nil() {
            Dot::Invalid
        } else {
            Dot::Concrete(v)
        }
    }

    /// A function's result: a nil result is a nil interface.
    fn result(v: Value) -> Dot {
        if v.is_nil() {
            Dot::Iface(Value::Nil)
        } else {
            Dot::Concrete(v)
        }
    }

    fn value(&self) -> Option<&Value> {
        match self {
            Dot::Invalid => None,
            Dot::Concrete(v) | Dot::Iface(v) => Some(v),
        }
    }

    fn into_value(self) -> Value {
        match self {
            Dot::Invalid => Value::Nil,
            Dot::Concrete(v) | Dot::Iface(v) => v,
        }
    }

    /// Go's "dig down one level" after each command: an interface becomes its dynamic value, a
    /// nil interface becomes invalid.
    fn dig(self) -> Dot {
        match self {
            Dot::Iface(v) | Dot::Concrete(v) => Dot::of(v),
            Dot::Invalid => Dot::Invalid,
        }
    }

    /// The static Go type `reflect` reports for this value.
    fn type_name(&self) -> String {
        match self {
            Dot::Invalid => "<nil>".into(),
            Dot::Iface(_) => "interface {}".into(),
            Dot::Concrete(v) => v.type_name(),
        }
    }
}

/// Non-local exits of a walk: `break`, `continue`, or an error message (already in Go's format).
pub(crate) enum Ctl {
    Break,
    Continue,
    Err(String),
}

type R<T> = Result<T, Ctl>;

/// Stack space kept free before recursing into a template call; more is allocated on the heap.
const RED_ZONE: usize = 128 * 1024;
const STACK_CHUNK: usize = 4 * 1024 * 1024;

/// Spare argument lists kept (enough for calls nested in each other's arguments).
const MAX_SPARE_ARG_BUFS: usize = 32;

/// Initial buffer for a nested execution's output (`include`, `tpl`).
const NESTED_OUTPUT: usize = 128;

/// One execution: output, variables, current template and resource counters.
pub(crate) struct State {
    set: Rc<Set>,
    tree: Rc<Tree>,
    name: Arc<str>,
    source: Arc<Source>,
    /// Output: bytes, as a Go string may hold any.
    out: Vec<u8>,
    /// Variables of all active template calls; the current call's start at `vars_base` (a called
    /// template sees only its own, as Go has no dynamic scoping).
    vars: Vec<(Arc<str>, Dot)>,
    vars_base: usize,
    /// Argument lists of finished function calls, kept for the next calls.
    arg_bufs: Vec<Vec<Value>>,
    /// The name `$`, shared by every call's first variable.
    dollar: Arc<str>,
    depth: usize,
    steps: u64,
    /// The tree being executed (for resolving [`At`] in error messages).
    cur_tree: Rc<Tree>,
    /// Go's `state.node`: the node most recently evaluated, which some errors quote.
    at: At,
}

/// Identity (address) and position of the last evaluated node. Comparing addresses is enough to
/// find the node again when an error needs its text, and costs nothing on the hot path.
#[derive(Clone, Copy)]
enum At {
    None,
    Arg(usize, usize),
    Pipe(usize, usize),
}

fn addr<T>(r: &T) -> usize {
    r as *const T as usize
}

/// Find the text of the node `at` refers to inside `nodes`.
fn find_at(nodes: &[Node], at: At) -> Option<String> {
    fn in_pipe(p: &Pipe, at: At) -> Option<String> {
        if let At::Pipe(a, _) = at
            && addr(p) == a
        {
            return Some(p.to_string());
        }
        for c in &p.cmds {
            for arg in &c.args {
                if let Some(s) = in_arg(arg, at) {
                    return Some(s);
                }
            }
        }
        None
    }
    fn in_arg(arg: &Arg, at: At) -> Option<String> {
        if let At::Arg(a, _) = at
            && addr(arg) == a
        {
            return Some(arg.to_string());
        }
        match arg {
            Arg::Pipe(p) => in_pipe(p, at),
            Arg::Chain { node, .. } => in_arg(node, at),
            _ => None,
        }
    }
    for n in nodes {
        let found = match n {
            Node::Action { pipe, .. } => in_pipe(pipe, at),
            Node::Template { pipe: Some(p), .. } => in_pipe(p, at),
            Node::If(b) | Node::Range(b) | Node::With(b) => in_pipe(&b.pipe, at)
                .or_else(|| find_at(&b.list, at))
                .or_else(|| b.else_list.as_deref().and_then(|e| find_at(e, at))),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

impl State {
    pub(crate) fn new(set: Rc<Set>, tree: Rc<Tree>) -> State {
        State {
            name: tree.name.clone(),
            source: tree.source.clone(),
            set,
            tree: tree.clone(),
            out: Vec::new(),
            vars: Vec::new(),
            vars_base: 0,
            arg_bufs: Vec::new(),
            dollar: "$".into(),
            depth: 0,
            steps: 0,
            cur_tree: tree.clone(),
            at: At::None,
        }
    }

    pub(crate) fn template_name(&self) -> &str {
        &self.name
    }

    pub(crate) fn depth(&self) -> usize {
        self.depth
    }

    pub(crate) fn set(&self) -> &Set {
        &self.set
    }

    pub(crate) fn set_rc(&self) -> &Rc<Set> {
        &self.set
    }

    pub(crate) fn run_top(&mut self, data: &Value) -> Result<Vec<u8>, String> {
        let dot = Dot::of(data.clone());
        self.vars = vec![(self.dollar.clone(), dot.clone())];
        self.vars_base = 0;
        // Output is usually about as long as the template: skip most of the buffer's regrowth.
        self.out.reserve(self.source.text.len());
        let tree = self.tree.clone();
        match self.walk_list(&dot, &tree.root) {
            Ok(()) => Ok(std::mem::take(&mut self.out)),
            Err(Ctl::Err(e)) => Err(e),
            Err(_) => Ok(std::mem::take(&mut self.out)),
        }
    }

    /// Execute template `name` (of `set`, or of the current set) into a fresh buffer.
    pub(crate) fn execute_nested(
        &mut self,
        set: Option<Rc<Set>>,
        name: &str,
        data: &Value,
    ) -> Result<Vec<u8>, String> {
        let old_set = set.map(|s| std::mem::replace(&mut self.set, s));
        let result = self.execute_nested_inner(name, data);
        if let Some(s) = old_set {
            self.set = s;
        }
        result
    }

    fn execute_nested_inner(&mut self, name: &str, data: &Value) -> Result<Vec<u8>, String> {
        let Some(tree) = self.set.lookup(name) else {
            return Err(format!(
                "template: no template {} associated with template {}",
                fmt::quote(name),
                fmt::quote(&self.name)
            ));
        };
        let max = self.set.limits.max_depth;
        if self.depth >= max {
            return Err(format!("exceeded maximum template depth ({max})"));
        }
        // Included snippets are short: one small buffer instead of several regrowths.
        let saved_out = std::mem::replace(&mut self.out, Vec::with_capacity(NESTED_OUTPUT));
        let dot = Dot::of(data.clone());
        let r = self.call_tree(tree, dot);
        let produced = std::mem::replace(&mut self.out, saved_out);
        match r {
            Err(Ctl::Err(e)) => Err(e),
            _ => Ok(produced),
        }
    }

    /// Run `tree` with `dot`, with fresh variables (no dynamic scoping), one level deeper.
    fn call_tree(&mut self, tree: Rc<Tree>, dot: Dot) -> R<()> {
        let saved_len = self.vars.len();
        let saved_base = std::mem::replace(&mut self.vars_base, saved_len);
        self.vars.push((self.dollar.clone(), dot.clone()));
        let saved_name = std::mem::replace(&mut self.name, tree.name.clone());
        let saved_source = std::mem::replace(&mut self.source, tree.source.clone());
        let saved_tree = std::mem::replace(&mut self.cur_tree, tree.clone());
        self.depth += 1;
        let r = stacker::maybe_grow(RED_ZONE, STACK_CHUNK, || self.walk_list(&dot, &tree.root));
        self.depth -= 1;
        self.vars.truncate(saved_len);
        self.vars_base = saved_base;
        self.name = saved_name;
        self.source = saved_source;
        self.cur_tree = saved_tree;
        match r {
            Err(Ctl::Break) | Err(Ctl::Continue) => Ok(()),
            other => other,
        }
    }

    // ---- errors ----

    /// Go's `state.errorf` with a node: `template: LOC: executing "NAME" at <CTX>: MSG`.
    fn err(&self, pos: usize, ctx: &dyn Display, msg: impl Display) -> Ctl {
        Ctl::Err(format!(
            "template: {}: executing {} at <{}>: {}",
            self.source.location(pos),
            fmt::quote(&self.name),
            ctx,
            msg
        ))
    }

    /// Go's `state.errorf` at the node most recently evaluated.
    fn err_last(&self, msg: impl Display) -> Ctl {
        let pos = match self.at {
            At::None => return self.err_plain(msg),
            At::Arg(_, pos) | At::Pipe(_, pos) => pos,
        };
        match find_at(&self.cur_tree.root, self.at) {
            Some(ctx) => self.err(pos, &ctx, msg),
            None => self.err_plain(msg),
        }
    }

    fn at_arg(&mut self, a: &Arg) {
        self.at = At::Arg(addr(a), a.pos());
    }

    /// Go's `state.errorf` without a node.
    fn err_plain(&self, msg: impl Display) -> Ctl {
        Ctl::Err(format!("template: {}: {}", self.name, msg))
    }

    fn step(&mut self) -> R<()> {
        self.steps += 1;
        if self.steps > self.set.limits.max_steps {
            return Err(self.err_plain(format!(
                "execution stopped after {} steps",
                self.set.limits.max_steps
            )));
        }
        Ok(())
    }

    fn write(&mut self, s: &str) -> R<()> {
        self.write_bytes(s.as_bytes())
    }

    fn write_bytes(&mut self, s: &[u8]) -> R<()> {
        let max = self.set.limits.max_output;
        if self.out.len() + s.len() > max {
            return Err(self.err_plain(format!("output exceeds the limit of {max} bytes")));
        }
        self.out.extend_from_slice(s);
        Ok(())
    }

    // ---- walking ----

    fn walk_list(&mut self, dot: &Dot, nodes: &[Node]) -> R<()> {
        for n in nodes {
            self.walk(dot, n)?;
        }
        Ok(())
    }

    fn walk(&mut self, dot: &Dot, node: &Node) -> R<()> {
        self.step()?;
        match node {
            Node::Text { text, .. } => self.write(text),
            Node::Action { pipe, .. } => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.print_value(&v)?;
                }
                Ok(())
            }
            Node::If(b) => stacker::maybe_grow(RED_ZONE, STACK_CHUNK, || {
                self.walk_if_or_with(false, dot, b)
            }),
            Node::With(b) => {
                stacker::maybe_grow(RED_ZONE, STACK_CHUNK, || self.walk_if_or_with(true, dot, b))
            }
            Node::Range(b) => {
                stacker::maybe_grow(RED_ZONE, STACK_CHUNK, || self.walk_range(dot, node, b))
            }
            Node::Template { pos, name, pipe } => {
                self.walk_template(dot, *pos, node, name, pipe.as_deref())
            }
            Node::Break { .. } => Err(Ctl::Break),
            Node::Continue { .. } => Err(Ctl::Continue),
        }
    }

    fn print_value(&mut self, v: &Dot) -> R<()> {
        match v.value() {
            None | Some(Value::Nil) => self.write("<no value>"),
            Some(Value::String(s)) => {
                let s = s.clone();
                self.write(&s)
            }
            Some(Value::Binary(b)) => {
                let b = b.clone();
                self.write_bytes(&b)
            }
            Some(v @ (Value::List(_) | Value::Map(_))) => {
                // A collection may hold non-UTF-8 strings, printed as their bytes.
                let s = fmt::sprint_value(v);
                match &s {
                    Value::Binary(b) => self.write_bytes(b),
                    other => self.write(other.as_str().unwrap_or_default()),
                }
            }
            Some(v) => {
                let s = fmt::sprint(v);
                self.write(&s)
            }
        }
    }

    fn walk_if_or_with(&mut self, is_with: bool, dot: &Dot, b: &Branch) -> R<()> {
        let mark = self.vars.len();
        let r = (|| {
            let v = self.eval_pipeline(dot, &b.pipe)?;
            let truth = v.value().is_some_and(Value::truthy);
            if truth {
                if is_with {
                    self.walk_list(&v, &b.list)
                } else {
                    self.walk_list(dot, &b.list)
                }
            } else if let Some(e) = &b.else_list {
                self.walk_list(dot, e)
            } else {
                Ok(())
            }
        })();
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, dot: &Dot, node: &Node, b: &Branch) -> R<()> {
        let mark = self.vars.len();
        let r = self.walk_range_inner(dot, node, b);
        self.vars.truncate(mark);
        match r {
            Err(Ctl::Break) => Ok(()),
            other => other,
        }
    }

    fn walk_range_inner(&mut self, dot: &Dot, node: &Node, b: &Branch) -> R<()> {
        let _ = node;
        let val = self.eval_pipeline(dot, &b.pipe)?.into_value();
        let val = match val {
            Value::Object(o) => match o.to_data() {
                Some(d) => d,
                None => {
                    return Err(
                        self.err_last(format!("range can't iterate over {}", o.go_string()))
                    );
                }
            },
            other => other,
        };
        let mark = self.vars.len();
        let mut ran = false;
        match &val {
            Value::List(l) => {
                let items: Vec<Value> = l.borrow().clone();
                for (i, elem) in items.into_iter().enumerate() {
                    ran = true;
                    self.one_iteration(b, Value::Int(i as i64), elem, true, mark)?;
                }
            }
            Value::Map(m) => {
                let entries: Vec<(Value, Value)> = m
                    .borrow()
                    .iter()
                    .map(|(k, v)| (Value::str(k.as_str()), v.clone()))
                    .collect();
                for (k, v) in entries {
                    ran = true;
                    self.one_iteration(b, k, v, true, mark)?;
                }
            }
            v @ (Value::Int(_) | Value::Int64(_) | Value::Uint(_)) => {
                if b.pipe.decl.len() > 1 {
                    return Err(self.err_last(format!(
                        "can't use {} to iterate over more than one variable",
                        fmt::sprint(v)
                    )));
                }
                let n: u64 = match v {
                    Value::Int(i) | Value::Int64(i) => (*i).max(0) as u64,
                    Value::Uint(u) => *u,
                    _ => 0,
                };
                let make = |i: u64| match v {
                    Value::Int64(_) => Value::Int64(i as i64),
                    Value::Uint(_) => Value::Uint(i),
                    _ => Value::Int(i as i64),
                };
                for i in 0..n {
                    ran = true;
                    self.step()?;
                    self.one_iteration(b, make(i), make(i), false, mark)?;
                }
            }
            Value::Nil => {}
            other => {
                return Err(
                    self.err_last(format!("range can't iterate over {}", fmt::sprint(other)))
                );
            }
        }
        if !ran && let Some(e) = &b.else_list {
            return self.walk_list(dot, e);
        }
        Ok(())
    }

    fn one_iteration(
        &mut self,
        b: &Branch,
        index: Value,
        elem: Value,
        elem_iface: bool,
        mark: usize,
    ) -> R<()> {
        let wrap = |v: Value| {
            if elem_iface {
                Dot::Iface(v)
            } else {
                Dot::Concrete(v)
            }
        };
        let decl = &b.pipe.decl;
        if !decl.is_empty() {
            if b.pipe.is_assign {
                let target = if decl.len() > 1 {
                    index.clone()
                } else {
                    elem.clone()
                };
                let target = if decl.len() > 1 {
                    Dot::Concrete(target)
                } else {
                    wrap(target)
                };
                self.set_var(&decl[0], target, b.pipe.pos, &b.pipe)?;
            } else {
                self.set_top_var(1, wrap(elem.clone()));
            }
        }
        if decl.len() > 1 {
            if b.pipe.is_assign {
                self.set_var(&decl[1], wrap(elem.clone()), b.pipe.pos, &b.pipe)?;
            } else {
                self.set_top_var(2, Dot::Concrete(index));
            }
        }
        let r = self.walk_list(&wrap(elem), &b.list);
        self.vars.truncate(mark);
        match r {
            Err(Ctl::Continue) => Ok(()),
            other => other,
        }
    }

    fn walk_template(
        &mut self,
        dot: &Dot,
        pos: usize,
        node: &Node,
        name: &str,
        pipe: Option<&Pipe>,
    ) -> R<()> {
        let Some(tree) = self.set.lookup(name) else {
            return Err(self.err(
                pos,
                node,
                format!("template {} not defined", fmt::quote(name)),
            ));
        };
        let max = self.set.limits.max_depth;
        if self.depth >= max {
            return Err(self.err(
                pos,
                node,
                format!("exceeded maximum template depth ({max})"),
            ));
        }
        let new_dot = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Dot::Invalid,
        };
        self.call_tree(tree, new_dot)
    }

    // ---- variables ----

    fn var_value(&self, name: &str, pos: usize, ctx: &dyn Display) -> R<Dot> {
        for (n, v) in self.vars[self.vars_base..].iter().rev() {
            if &**n == name {
                return Ok(v.clone());
            }
        }
        Err(self.err(pos, ctx, format!("undefined variable: {name}")))
    }

    fn set_var(&mut self, name: &str, value: Dot, pos: usize, ctx: &dyn Display) -> R<()> {
        for (n, v) in self.vars[self.vars_base..].iter_mut().rev() {
            if &**n == name {
                *v = value;
                return Ok(());
            }
        }
        Err(self.err(pos, ctx, format!("undefined variable: {name}")))
    }

    fn set_top_var(&mut self, n: usize, value: Dot) {
        let len = self.vars.len();
        if n <= len - self.vars_base {
            self.vars[len - n].1 = value;
        }
    }

    // ---- evaluation ----

    fn eval_pipeline(&mut self, dot: &Dot, pipe: &Pipe) -> R<Dot> {
        self.at = At::Pipe(addr(pipe), pipe.pos);
        let mut value: Option<Dot> = None;
        for cmd in &pipe.cmds {
            let v = self.eval_command(dot, cmd, pipe, value.take())?;
            value = Some(v.dig());
        }
        let v = value.unwrap_or(Dot::Invalid);
        for name in &pipe.decl {
            if pipe.is_assign {
                // Go reports a failed assignment at the last node it evaluated.
                if !self.vars[self.vars_base..]
                    .iter()
                    .any(|(n, _)| **n == **name)
                {
                    return Err(self.err_last(format!("undefined variable: {name}")));
                }
                self.set_var(name, v.clone(), pipe.pos, pipe)?;
            } else {
                self.vars.push((name.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn not_a_function(
        &self,
        args: &[Arg],
        final_: &Option<Dot>,
        pos: usize,
        ctx: &dyn Display,
    ) -> R<()> {
        if args.len() > 1 || final_.is_some() {
            return Err(self.err(
                pos,
                ctx,
                format!("can't give argument to non-function {}", args[0]),
            ));
        }
        Ok(())
    }

    fn eval_command(
        &mut self,
        dot: &Dot,
        cmd: &Command,
        pipe: &Pipe,
        final_: Option<Dot>,
    ) -> R<Dot> {
        let first = &cmd.args[0];
        match first {
            Arg::Field { path, .. } => {
                return self.eval_field_chain(
                    dot,
                    dot.clone(),
                    first,
                    &path[1..],
                    &cmd.args,
                    final_,
                );
            }
            Arg::Chain { .. } => return self.eval_chain(dot, first, &cmd.args, final_),
            Arg::Identifier { name, .. } => {
                return self.eval_function(dot, name, first, cmd.pos, cmd, &cmd.args, final_);
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &final_, pipe.pos, pipe)?;
                return stacker::maybe_grow(RED_ZONE, STACK_CHUNK, || self.eval_pipeline(dot, p));
            }
            Arg::Variable { .. } => return self.eval_variable(dot, first, &cmd.args, final_),
            _ => {}
        }
        self.at_arg(first);
        self.not_a_function(&cmd.args, &final_, first.pos(), first)?;
        match first {
            Arg::Bool { value, .. } => Ok(Dot::Concrete(Value::Bool(*value))),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { pos } => Err(self.err(*pos, first, "nil is not a command")),
            Arg::Number { pos, number } => {
                self.ideal_constant(*pos, first, number).map(Dot::Concrete)
            }
            // Trees are shared across threads, values are not: the literal is copied into one.
            Arg::String { literal, .. } => Ok(Dot::Concrete(string_literal(literal))),
            _ => Ok(Dot::Invalid),
        }
    }

    fn ideal_constant(&self, pos: usize, ctx: &dyn Display, n: &Number) -> R<Value> {
        let t = &n.text;
        let is_hex_int = t.len() > 2
            && t.starts_with('0')
            && (t.as_bytes()[1] == b'x' || t.as_bytes()[1] == b'X')
            && !t.contains(['p', 'P']);
        let is_rune = t.starts_with('\'');
        if n.is_complex {
            let (re, im) = n.complex128;
            return Ok(Value::Object(Rc::new(crate::literal::Complex(re, im))));
        }
        if n.is_float && !is_hex_int && !is_rune && t.contains(['.', 'e', 'E', 'p', 'P']) {
            return Ok(Value::Float(n.float64));
        }
        if n.is_int {
            return Ok(Value::Int(n.int64));
        }
        if n.is_uint {
            return Err(self.err(pos, ctx, format!("{t} overflows int")));
        }
        Ok(Value::Nil)
    }

    fn eval_chain(&mut self, dot: &Dot, chain: &Arg, args: &[Arg], final_: Option<Dot>) -> R<Dot> {
        let Arg::Chain { pos, node, fields } = chain else {
            return Ok(Dot::Invalid);
        };
        if let Arg::Nil { .. } = node.as_ref() {
            return Err(self.err(
                *pos,
                chain,
                format!("indirection through explicit nil in {chain}"),
            ));
        }
        let recv = self.eval_arg_dot(dot, node)?;
        self.eval_field_chain(dot, recv, chain, &fields[1..], args, final_)
    }

    fn eval_variable(&mut self, dot: &Dot, var: &Arg, args: &[Arg], final_: Option<Dot>) -> R<Dot> {
        let Arg::Variable { pos, path } = var else {
            return Ok(Dot::Invalid);
        };
        let (name, fields) = match path.split_once('.') {
            Some((name, fields)) => (name, Some(fields)),
            None => (&**path, None),
        };
        let value = self.var_value(name, *pos, var)?;
        let Some(fields) = fields else {
            self.not_a_function(args, &final_, *pos, var)?;
            return Ok(value);
        };
        self.eval_field_chain(dot, value, var, fields, args, final_)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Dot,
        mut receiver: Dot,
        node: &Arg,
        idents: &str,
        args: &[Arg],
        final_: Option<Dot>,
    ) -> R<Dot> {
        self.at_arg(node);
        // Names are short: a byte scan for the next `.` beats a searcher.
        let mut rest = idents;
        while let Some(dot_at) = rest.bytes().position(|b| b == b'.') {
            receiver = self.eval_field(dot, &rest[..dot_at], node, &[], None, receiver)?;
            rest = &rest[dot_at + 1..];
        }
        self.eval_field(dot, rest, node, args, final_, receiver)
    }

    fn eval_field(
        &mut self,
        dot: &Dot,
        name: &str,
        node: &Arg,
        args: &[Arg],
        final_: Option<Dot>,
        receiver: Dot,
    ) -> R<Dot> {
        let pos = node.pos();
        let Some(recv) = receiver.value() else {
            if self.set.missing_key == MissingKey::Error {
                return Err(self.err(
                    pos,
                    node,
                    format!("nil data; no entry for key {}", fmt::quote(name)),
                ));
            }
            return Ok(Dot::Invalid);
        };
        let has_args = args.len() > 1 || final_.is_some();
        match recv {
            Value::Nil => Err(self.err(
                pos,
                node,
                format!("nil pointer evaluating interface {{}}.{name}"),
            )),
            Value::Map(m) => {
                if has_args {
                    return Err(self.err(
                        pos,
                        node,
                        format!("{name} is not a method but has arguments"),
                    ));
                }
                let found = m.borrow().get(name).cloned();
                match found {
                    Some(v) => Ok(Dot::Iface(v)),
                    None => match self.set.missing_key {
                        MissingKey::Default => Ok(Dot::Invalid),
                        MissingKey::Zero => Ok(Dot::Iface(Value::Nil)),
                        MissingKey::Error => Err(self.err(
                            pos,
                            node,
                            format!("map has no entry for key {}", fmt::quote(name)),
                        )),
                    },
                }
            }
            Value::Object(o) => {
                if o.has_method(name) {
                    let vals = self.eval_call_args(dot, args, final_)?;
                    let r = match o.call_method(name, &vals) {
                        Some(Ok(v)) => Ok(Dot::result(v)),
                        Some(Err(e)) => Err(self.call_error(pos, node, pos, node, name, e)),
                        None => Err(self.err(
                            pos,
                            node,
                            format!("can't evaluate field {name} in type {}", o.type_name()),
                        )),
                    };
                    self.recycle_arg_buf(vals);
                    return r;
                }
                match o.field(name) {
                    Some(v) => {
                        if has_args {
                            return Err(self.err(
                                pos,
                                node,
                                format!("{name} is not a method but has arguments"),
                            ));
                        }
                        Ok(Dot::result(v))
                    }
                    None => Err(self.err(
                        pos,
                        node,
                        format!("can't evaluate field {name} in type {}", o.type_name()),
                    )),
                }
            }
            _ => Err(self.err(
                pos,
                node,
                format!(
                    "can't evaluate field {name} in type {}",
                    receiver.type_name()
                ),
            )),
        }
    }

    /// Format a function's error the way Go's `evalCall` does.
    fn call_error(
        &self,
        ident_pos: usize,
        ident: &dyn Display,
        ctx_pos: usize,
        ctx: &dyn Display,
        name: &str,
        msg: String,
    ) -> Ctl {
        if msg.starts_with("wrong number of args for ") || msg.starts_with("wrong type for value") {
            return self.err(ident_pos, ident, msg);
        }
        self.err(ctx_pos, ctx, format!("error calling {name}: {msg}"))
    }

    /// A function's error, positioned like Go: a wrong-typed explicit argument is reported at that
    /// argument; a wrong-typed piped value at the last node evaluated (the last explicit argument,
    /// else the function name).
    #[allow(clippy::too_many_arguments)]
    fn func_error(
        &self,
        ident_pos: usize,
        ident: &dyn Display,
        ctx_pos: usize,
        ctx: &dyn Display,
        name: &str,
        args: &[Arg],
        vals: &[Value],
        msg: String,
    ) -> Ctl {
        if msg.starts_with("wrong type for value") {
            let explicit = args.get(1..).unwrap_or(&[]);
            let got = msg.rsplit("got ").next().unwrap_or("");
            let culprit = explicit
                .iter()
                .zip(vals)
                .find(|(_, v)| v.type_name() == got)
                .map(|(a, _)| a)
                .or(explicit.last());
            if let Some(a) = culprit {
                return self.err(a.pos(), a, msg);
            }
        }
        self.call_error(ident_pos, ident, ctx_pos, ctx, name, msg)
    }

    /// An empty argument list, reusing the buffer of a finished call. (A call that fails while
    /// evaluating its arguments just drops its buffer.)
    fn arg_buf(&mut self) -> Vec<Value> {
        self.arg_bufs.pop().unwrap_or_default()
    }

    /// Give a call's argument list back for reuse once the call is done.
    fn recycle_arg_buf(&mut self, mut vals: Vec<Value>) {
        vals.clear();
        if self.arg_bufs.len() < MAX_SPARE_ARG_BUFS {
            self.arg_bufs.push(vals);
        }
    }

    /// Evaluate the arguments after the function name, then the piped final value.
    fn eval_call_args(&mut self, dot: &Dot, args: &[Arg], final_: Option<Dot>) -> R<Vec<Value>> {
        let mut vals = self.arg_buf();
        for a in args.iter().skip(1) {
            vals.push(self.eval_arg(dot, a)?);
        }
        if let Some(f) = final_ {
            vals.push(f.into_value());
        }
        Ok(vals)
    }

    /// `args` is the whole command (function node first), or empty when the function is itself an
    /// argument (then it gets no arguments).
    #[allow(clippy::too_many_arguments)]
    fn eval_function(
        &mut self,
        dot: &Dot,
        name: &str,
        ident: &Arg,
        ctx_pos: usize,
        ctx: &dyn Display,
        args: &[Arg],
        final_: Option<Dot>,
    ) -> R<Dot> {
        let ident_pos = ident.pos();
        self.at_arg(ident);
        let funcs = self.set.funcs.clone();
        if let Some(f) = funcs.engine.get(name) {
            let vals = self.eval_call_args(dot, args, final_)?;
            let r = {
                let mut cx = ExecContext { state: self };
                f(&mut cx, &vals)
            };
            let r = r
                .map(Dot::result)
                .map_err(|e| self.func_error(ident_pos, ident, ctx_pos, ctx, name, args, &vals, e));
            self.recycle_arg_buf(vals);
            return r;
        }
        if let Some(f) = funcs.pure.get(name) {
            let vals = self.eval_call_args(dot, args, final_)?;
            let r = f(&vals)
                .map(Dot::result)
                .map_err(|e| self.func_error(ident_pos, ident, ctx_pos, ctx, name, args, &vals, e));
            self.recycle_arg_buf(vals);
            return r;
        }
        if !builtins::is_builtin(name) {
            return Err(self.err(
                ident_pos,
                ident,
                format!("{} is not a defined function", fmt::quote(name)),
            ));
        }
        let n_args = args.len().saturating_sub(1);
        let num_in = n_args + usize::from(final_.is_some());
        let (fixed, variadic) = builtins::arity(name);
        if variadic {
            if num_in < fixed {
                return Err(self.err(
                    ident_pos,
                    ident,
                    format!("wrong number of args for {name}: want at least {fixed} got {n_args}"),
                ));
            }
        } else if num_in != fixed {
            return Err(self.err(
                ident_pos,
                ident,
                format!("wrong number of args for {name}: want {fixed} got {num_in}"),
            ));
        }
        match name {
            "and" | "or" => {
                let want = name == "or";
                let mut v = Value::Nil;
                for a in args.iter().skip(1) {
                    v = self.eval_arg(dot, a)?;
                    if v.truthy() == want {
                        return Ok(Dot::result(v));
                    }
                }
                if let Some(f) = final_ {
                    v = f.into_value();
                }
                Ok(Dot::result(v))
            }
            "call" => {
                // Go evaluates every argument before `call` looks at its callee.
                let vals = self.eval_call_args(dot, args, final_)?;
                let fn_val = vals.first().cloned().unwrap_or(Value::Nil);
                let fn_desc = match args.get(1) {
                    Some(a) => a.to_string(),
                    // reflect.Value's String(): the text of a string, else "<T Value>".
                    None => match &fn_val {
                        Value::String(s) => s.to_string(),
                        v => format!("<{} Value>", v.type_name()),
                    },
                };
                let msg = if fn_val.is_nil() {
                    "call of nil".to_string()
                } else {
                    format!("non-function {fn_desc} of type {}", fn_val.type_name())
                };
                Err(self.err(ctx_pos, ctx, format!("error calling call: {msg}")))
            }
            _ => {
                // Go's slice and len see the reflect.Value as passed, without looking through
                // an interface or tolerating the invalid value: note what they need of each.
                let mut vals = self.arg_buf();
                let mut iface_after_first = Vec::new();
                let mut first_invalid = false;
                let mut push = |vals: &mut Vec<Value>, d: Dot| {
                    if vals.is_empty() {
                        first_invalid = matches!(d, Dot::Invalid);
                    } else if name == "slice" {
                        iface_after_first.push(matches!(d, Dot::Iface(_)));
                    }
                    vals.push(d.into_value());
                };
                for a in args.iter().skip(1) {
                    if name == "printf" && vals.is_empty() {
                        // printf's format is a typed `string` parameter in Go.
                        match a {
                            Arg::Number { .. } | Arg::Bool { .. } => {
                                return Err(self.err(
                                    a.pos(),
                                    a,
                                    format!("expected string; found {a}"),
                                ));
                            }
                            Arg::Nil { .. } => {
                                return Err(self.err(a.pos(), a, "cannot assign nil to string"));
                            }
                            _ => {}
                        }
                        let d = self.eval_arg_dot(dot, a)?;
                        self.check_string_param(&d)?;
                        push(&mut vals, d);
                        continue;
                    }
                    let d = self.eval_arg_dot(dot, a)?;
                    push(&mut vals, d);
                }
                if let Some(f) = final_ {
                    if name == "printf" && vals.is_empty() {
                        self.check_string_param(&f)?;
                    }
                    push(&mut vals, f);
                }
                if name == "slice" {
                    let r = builtins::slice_checked(&vals[0], &vals[1..], &iface_after_first)
                        .map(Dot::result)
                        .map_err(|e| {
                            self.func_error(ident_pos, ident, ctx_pos, ctx, name, args, &vals, e)
                        });
                    self.recycle_arg_buf(vals);
                    return r;
                }
                if name == "len" && first_invalid {
                    return Err(self.err(
                        ctx_pos,
                        ctx,
                        "error calling len: reflect: call of reflect.Value.Type on zero Value",
                    ));
                }
                let r = builtins::call(name, &vals).map(Dot::result).map_err(|e| {
                    self.func_error(ident_pos, ident, ctx_pos, ctx, name, args, &vals, e)
                });
                self.recycle_arg_buf(vals);
                r
            }
        }
    }

    /// Go's `validateType` for a `string` parameter; Go reports it at the last node evaluated.
    fn check_string_param(&self, d: &Dot) -> R<()> {
        match d {
            Dot::Invalid => Err(self.err_last("invalid value; expected string")),
            Dot::Concrete(Value::String(_) | Value::Binary(_))
            | Dot::Iface(Value::String(_) | Value::Binary(_)) => Ok(()),
            Dot::Iface(Value::Nil) => {
                Err(self.err_last("wrong type for value; expected string; got interface {}"))
            }
            Dot::Concrete(v) | Dot::Iface(v) => Err(self.err_last(format!(
                "wrong type for value; expected string; got {}",
                v.type_name()
            ))),
        }
    }

    /// An argument's value, invalid values as `Nil` (what a function parameter receives).
    fn eval_arg(&mut self, dot: &Dot, arg: &Arg) -> R<Value> {
        self.eval_arg_dot(dot, arg).map(Dot::into_value)
    }

    fn eval_arg_dot(&mut self, dot: &Dot, arg: &Arg) -> R<Dot> {
        self.at_arg(arg);
        match arg {
            Arg::Dot { .. } => Ok(dot.clone()),
            // An untyped nil reaches reflect.Value parameters as the invalid value.
            Arg::Nil { .. } => Ok(Dot::Invalid),
            Arg::Field { path, .. } => {
                self.eval_field_chain(dot, dot.clone(), arg, &path[1..], &[], None)
            }
            Arg::Variable { .. } => self.eval_variable(dot, arg, &[], None),
            Arg::Pipe(p) => {
                stacker::maybe_grow(RED_ZONE, STACK_CHUNK, || self.eval_pipeline(dot, p))
            }
            Arg::Identifier { name, pos } => {
                self.eval_function(dot, name, arg, *pos, arg, &[], None)
            }
            Arg::Chain { .. } => self.eval_chain(dot, arg, &[], None),
            Arg::Bool { value, .. } => Ok(Dot::Concrete(Value::Bool(*value))),
            Arg::Number { pos, number } => {
                self.ideal_constant(*pos, arg, number).map(Dot::Concrete)
            }
            Arg::String { literal, .. } => Ok(Dot::Concrete(string_literal(literal))),
        }
    }
}

/// The value of a string literal: its bytes when they are not UTF-8.
fn string_literal(literal: &crate::parse::StringLiteral) -> Value {
    match &literal.bytes {
        Some(bytes) => Value::Binary(Rc::from(&**bytes)),
        None => Value::String(Rc::from(&*literal.text)),
    }
}
