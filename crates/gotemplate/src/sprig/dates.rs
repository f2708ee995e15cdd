//! placeholder
use crate::value::FuncMap;
pub(super) fn register(_m: &mut FuncMap) {}
