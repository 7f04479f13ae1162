//! How clap hands setting values to `config`: as text, so that `config` can name the setting,
//! the value and what is accepted in one message, while `--help` still lists the accepted
//! values of the closed sets.

use std::ffi::OsStr;
use std::marker::PhantomData;

use clap::builder::{PossibleValue, TypedValueParser};
use clap::error::ErrorKind;
use clap::{Arg, Command, ValueEnum};

/// A setting's text. Text that is not UTF-8 is refused here, naming the setting (its
/// environment variable and flag), since no setting can use it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Text;

impl TypedValueParser for Text {
    type Value = String;

    fn parse_ref(
        &self,
        _cmd: &Command,
        arg: Option<&Arg>,
        value: &OsStr,
    ) -> Result<String, clap::Error> {
        value.to_str().map(str::to_string).ok_or_else(|| {
            let flag = arg
                .and_then(|a| a.get_long())
                .map(|l| format!("--{l}"))
                .unwrap_or_default();
            let setting = match arg.and_then(|a| a.get_env()) {
                Some(env) => format!("{} ({flag})", env.to_string_lossy()),
                None => flag,
            };
            clap::Error::raw(
                ErrorKind::InvalidUtf8,
                format!(
                    "invalid setting {setting} = {:?}: not valid UTF-8 text; write it in plain ASCII or UTF-8\n",
                    value.to_string_lossy()
                ),
            )
        })
    }
}

/// The text of a setting that takes one of `T`'s values; `--help` lists them.
#[derive(Debug, Clone, Copy)]
pub struct OneOf<T>(PhantomData<T>);

impl<T> OneOf<T> {
    pub fn new() -> Self {
        OneOf(PhantomData)
    }
}

impl<T> Default for OneOf<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: ValueEnum + Clone + Send + Sync + 'static> TypedValueParser for OneOf<T> {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &Command,
        arg: Option<&Arg>,
        value: &OsStr,
    ) -> Result<String, clap::Error> {
        Text.parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            T::value_variants()
                .iter()
                .filter_map(ValueEnum::to_possible_value),
        ))
    }
}
