//! What an operation of the OpenAPI document says, read off its handler's
//! signature: the types of its extractors (a JSON body, a query) and of its
//! answer (`Json<T>`, `Result<_, ApiError>`, …). A handler whose types say
//! too little (a raw body, a `Response` built by hand) is completed by the
//! route table's entry ([`OpDoc::body`], [`OpDoc::json`], …); the document
//! refuses to build if an operation is left without a documented answer.

use std::future::Future;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use schemars::{JsonSchema, Schema, SchemaGenerator};

use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::extract::{Json as JsonBody, RawBody};
use crate::http::pages::security::PageForm;
use crate::http::pages::PageQuery;

/// The two schema generators: answers as the server writes them
/// (`Serialize`), requests as it reads them (`Deserialize`).
#[derive(Default)]
pub struct Generators {
    pub answers: SchemaGenerator,
    pub requests: SchemaGenerator,
}

/// The success answer of an operation.
#[derive(Default)]
pub enum Success {
    /// Nothing said yet: the document refuses to build.
    #[default]
    Unknown,
    /// A JSON body of this schema, with the declared status (200 unless declared).
    Json(Schema),
    /// A JSON body whose status the handler picks at run time (`(StatusCode, Json<T>)`):
    /// the table must declare it.
    JsonChosenStatus(Schema),
    /// No body; the status is picked at run time and must be declared.
    Empty,
    /// Another media type (a page, a file, a stream).
    Media { media: &'static str, description: &'static str },
}

/// What kind of error answers an operation gives.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
pub enum Errors {
    /// `ErrorEnvelope` with a 4xx or 5xx status.
    #[default]
    Envelope,
    /// An HTML page (the buyer pages).
    Page,
}

/// One operation being described.
pub struct OpDoc {
    pub gen: Generators,
    pub status: Option<u16>,
    pub success: Success,
    pub errors: Errors,
    /// A request body: media type, schema (for JSON) and whether it may be left out.
    pub body: Option<(&'static str, Option<Schema>, bool)>,
    /// The query string's fields (an object schema).
    pub query: Option<Schema>,
    /// Further answers: status, JSON schema, description.
    pub extra: Vec<(u16, Schema, &'static str)>,
    /// A form's answer may be a redirect (303) to the next page.
    pub redirects: bool,
    /// The handler reads the body raw: the table must say what it holds.
    pub raw_body: bool,
}

impl OpDoc {
    pub fn new(gen: Generators) -> Self {
        OpDoc {
            gen,
            status: None,
            success: Success::Unknown,
            errors: Errors::Envelope,
            body: None,
            query: None,
            extra: vec![],
            redirects: false,
            raw_body: false,
        }
    }

    /// Reads what `handler`'s signature says.
    pub fn handler<M, H: Handler<M>>(&mut self, _handler: &H) -> &mut Self {
        H::describe(self);
        self
    }

    /// The success status (when it is not 200, or when the handler picks it at run time).
    pub fn status(&mut self, status: u16) -> &mut Self {
        self.status = Some(status);
        self
    }

    /// The success answer is JSON of type `T` (for a handler answering a `Response`).
    pub fn json<T: JsonSchema + ?Sized>(&mut self) -> &mut Self {
        self.success = Success::Json(self.gen.answers.subschema_for::<T>());
        self
    }

    /// Another answer with `status`: JSON of type `T`.
    pub fn also<T: JsonSchema + ?Sized>(&mut self, status: u16, description: &'static str) -> &mut Self {
        let schema = self.gen.answers.subschema_for::<T>();
        self.extra.push((status, schema, description));
        self
    }

    /// The success answer is not JSON.
    pub fn media(&mut self, media: &'static str, description: &'static str) -> &mut Self {
        self.success = Success::Media { media, description };
        self
    }

    /// A buyer page: HTML answers, errors included.
    pub fn page(&mut self) -> &mut Self {
        self.errors = Errors::Page;
        self.media("text/html", "a page")
    }

    /// A JSON request body of type `T` (for a handler reading a raw body).
    pub fn body<T: JsonSchema + ?Sized>(&mut self) -> &mut Self {
        self.body = Some(("application/json", Some(self.gen.requests.subschema_for::<T>()), false));
        self
    }

    /// A JSON request body of type `T` that may be left out.
    pub fn optional_body<T: JsonSchema + ?Sized>(&mut self) -> &mut Self {
        self.body = Some(("application/json", Some(self.gen.requests.subschema_for::<T>()), true));
        self
    }

    /// A request body of another media type.
    pub fn body_media(&mut self, media: &'static str) -> &mut Self {
        self.body = Some((media, None, false));
        self
    }

    /// A form posted by a buyer page (when its extractor does not say so).
    pub fn form(&mut self) -> &mut Self {
        if self.body.is_none() {
            self.body_media("application/x-www-form-urlencoded");
        }
        self
    }

    /// A buyer page's form: the page again (an error shown), or a redirect (303) to the next one.
    pub fn form_page(&mut self) -> &mut Self {
        self.redirects = true;
        self.form().page()
    }
}

/// What an extractor says about the request.
pub trait Argument {
    fn describe(_: &mut OpDoc) {}
}

impl<S> Argument for State<S> {}
/// Path parameters are read off the route's template.
impl<T> Argument for Path<T> {}
impl Argument for HeaderMap {}
impl Argument for ClientIp {}
/// A raw body: the table's entry must say what it holds.
impl Argument for RawBody {
    fn describe(d: &mut OpDoc) {
        d.raw_body = true;
    }
}

impl Argument for Body {
    fn describe(d: &mut OpDoc) {
        d.raw_body = true;
    }
}

impl<T: JsonSchema> Argument for Query<T> {
    fn describe(d: &mut OpDoc) {
        d.query = Some(T::json_schema(&mut d.gen.requests));
    }
}

impl<T: JsonSchema> Argument for PageQuery<T> {
    fn describe(d: &mut OpDoc) {
        d.query = Some(T::json_schema(&mut d.gen.requests));
    }
}

impl<T: JsonSchema> Argument for PageForm<T> {
    fn describe(d: &mut OpDoc) {
        let schema = d.gen.requests.subschema_for::<T>();
        d.body = Some(("application/x-www-form-urlencoded", Some(schema), false));
    }
}

impl<T: JsonSchema> Argument for JsonBody<T> {
    fn describe(d: &mut OpDoc) {
        d.body = Some(("application/json", Some(d.gen.requests.subschema_for::<T>()), false));
    }
}

/// What a handler's return type says about its answers.
pub trait Answered {
    fn describe(d: &mut OpDoc);
}

impl<T: Answered> Answered for Result<T, ApiError> {
    fn describe(d: &mut OpDoc) {
        T::describe(d);
    }
}

impl<T: JsonSchema> Answered for Json<T> {
    fn describe(d: &mut OpDoc) {
        d.success = Success::Json(d.gen.answers.subschema_for::<T>());
    }
}

impl<T: JsonSchema> Answered for (StatusCode, Json<T>) {
    fn describe(d: &mut OpDoc) {
        d.success = Success::JsonChosenStatus(d.gen.answers.subschema_for::<T>());
    }
}

impl Answered for StatusCode {
    fn describe(d: &mut OpDoc) {
        d.success = Success::Empty;
    }
}

/// Built by hand: the table's entry says what it holds.
impl Answered for Response {
    fn describe(_: &mut OpDoc) {}
}

/// An async function of extractors answering something [`Answered`]:
/// every handler the routers name.
pub trait Handler<M> {
    fn describe(d: &mut OpDoc);
}

macro_rules! handler_of_arity {
    ($($arg:ident),*) => {
        impl<F, Fut, R, $($arg,)*> Handler<(R, $($arg,)*)> for F
        where
            F: FnOnce($($arg,)*) -> Fut,
            Fut: Future<Output = R>,
            R: Answered,
            $($arg: Argument,)*
        {
            fn describe(d: &mut OpDoc) {
                $($arg::describe(d);)*
                R::describe(d);
            }
        }
    };
}

handler_of_arity!();
handler_of_arity!(A1);
handler_of_arity!(A1, A2);
handler_of_arity!(A1, A2, A3);
handler_of_arity!(A1, A2, A3, A4);
handler_of_arity!(A1, A2, A3, A4, A5);
handler_of_arity!(A1, A2, A3, A4, A5, A6);
