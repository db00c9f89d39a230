//! Chat messages: roles, content parts, tool calls and tool results.

use serde::{Deserialize, Serialize};

use crate::vocab::string_enum;

string_enum! {
    /// Who wrote a message.
    pub enum Role {
        /// Instructions for the model.
        System = "system",
        /// OpenAI's name for system instructions on newer models; adapters treat it as `System` elsewhere.
        Developer = "developer",
        /// The end user.
        User = "user",
        /// The model.
        Assistant = "assistant",
        /// The result of a tool call.
        Tool = "tool" | "function",
    }
}

/// Where an image comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ImageSource {
    /// An `http(s)` URL the provider fetches.
    Url {
        /// The URL.
        url: String,
    },
    /// Inline bytes, base64-encoded.
    Base64 {
        /// The MIME type, such as `image/png`.
        media_type: String,
        /// The base64 data, without a `data:` prefix.
        data: String,
    },
}

impl ImageSource {
    /// Reads an OpenAI `image_url.url`: a `data:<type>;base64,<data>` URL becomes [`ImageSource::Base64`],
    /// anything else a [`ImageSource::Url`].
    pub fn from_url(url: &str) -> Self {
        if let Some(rest) = url.strip_prefix("data:")
            && let Some((media_type, data)) = rest.split_once(";base64,")
        {
            return Self::Base64 { media_type: media_type.to_owned(), data: data.to_owned() };
        }
        Self::Url { url: url.to_owned() }
    }

    /// The source as an OpenAI `image_url.url` (a data URL for inline bytes).
    pub fn to_url(&self) -> String {
        match self {
            Self::Url { url } => url.clone(),
            Self::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
        }
    }
}

/// One part of a multi-part message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ContentPart {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// An image.
    Image {
        /// Where it comes from.
        source: ImageSource,
        /// OpenAI's `detail` hint (`low`, `high`, `auto`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// Audio input.
    Audio {
        /// Base64 data.
        data: String,
        /// The format, such as `wav` or `mp3`.
        format: String,
    },
    /// A file (a PDF, say), inline or by a provider-side id.
    File {
        /// A provider-side file id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_id: Option<String>,
        /// The file name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filename: Option<String>,
        /// Base64 data, or a `data:` URL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data: Option<String>,
        /// The MIME type.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        media_type: Option<String>,
    },
}

impl ContentPart {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text { text: text.into() }
    }

    /// An image part from a URL (or a `data:` URL).
    pub fn image_url(url: &str) -> Self {
        Self::Image { source: ImageSource::from_url(url), detail: None }
    }

    /// An image part from base64 bytes.
    pub fn image_base64(media_type: impl Into<String>, data: impl Into<String>) -> Self {
        Self::Image { source: ImageSource::Base64 { media_type: media_type.into(), data: data.into() }, detail: None }
    }
}

/// A message's content: plain text, or parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// A list of parts.
    Parts(Vec<ContentPart>),
}

impl Content {
    /// The text of the content: the string, or the text parts joined without separator.
    pub fn text(&self) -> String {
        match self {
            Self::Text(t) => t.clone(),
            Self::Parts(parts) => parts
                .iter()
                .filter_map(|p| match p {
                    ContentPart::Text { text } => Some(text.as_str()),
                    _ => None,
                })
                .collect(),
        }
    }

    /// The parts of the content (a text content becomes one text part).
    pub fn parts(&self) -> Vec<ContentPart> {
        match self {
            Self::Text(t) => vec![ContentPart::text(t.clone())],
            Self::Parts(p) => p.clone(),
        }
    }
}

impl From<&str> for Content {
    fn from(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
}

impl From<String> for Content {
    fn from(s: String) -> Self {
        Self::Text(s)
    }
}

/// A function the assistant asked to call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolCall {
    /// The call's id, echoed in the tool result.
    pub id: String,
    /// The function's name.
    pub name: String,
    /// The arguments as the model wrote them: a JSON text, possibly invalid.
    pub arguments: String,
}

impl ToolCall {
    /// A tool call.
    pub fn new(id: impl Into<String>, name: impl Into<String>, arguments: impl Into<String>) -> Self {
        Self { id: id.into(), name: name.into(), arguments: arguments.into() }
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// What it says; `None` for an assistant turn made only of tool calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// An optional participant name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tool calls made by the assistant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a tool result, the id of the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// The assistant's visible reasoning, where the provider returns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// The assistant's refusal text, where the provider returns one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// The provider's signature over `reasoning` (Anthropic's thinking `signature`): it must be sent back with
    /// the reasoning in a later turn when tools are used with extended thinking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_signature: Option<String>,
}

impl Message {
    /// A message with this role and content.
    pub fn new(role: Role, content: impl Into<Content>) -> Self {
        Self {
            role,
            content: Some(content.into()),
            name: None,
            tool_calls: Vec::new(),
            tool_call_id: None,
            reasoning: None,
            refusal: None,
            reasoning_signature: None,
        }
    }

    /// A system message.
    pub fn system(text: impl Into<String>) -> Self {
        Self::new(Role::System, Content::Text(text.into()))
    }

    /// A user message.
    pub fn user(text: impl Into<String>) -> Self {
        Self::new(Role::User, Content::Text(text.into()))
    }

    /// A user message made of parts (text, images, ...).
    pub fn user_parts(parts: Vec<ContentPart>) -> Self {
        Self::new(Role::User, Content::Parts(parts))
    }

    /// An assistant message.
    pub fn assistant(text: impl Into<String>) -> Self {
        Self::new(Role::Assistant, Content::Text(text.into()))
    }

    /// An assistant turn that calls tools.
    pub fn assistant_tool_calls(tool_calls: Vec<ToolCall>) -> Self {
        Self { content: None, tool_calls, ..Self::new(Role::Assistant, "") }
    }

    /// A tool result answering the call `tool_call_id`.
    pub fn tool_result(tool_call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self { tool_call_id: Some(tool_call_id.into()), ..Self::new(Role::Tool, Content::Text(content.into())) }
    }

    /// Sets the participant name.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The text of the content, empty when there is none.
    pub fn text(&self) -> String {
        self.content.as_ref().map(Content::text).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_become_base64() {
        let s = ImageSource::from_url("data:image/png;base64,iVBORw0=");
        assert_eq!(s, ImageSource::Base64 { media_type: "image/png".into(), data: "iVBORw0=".into() });
        assert_eq!(s.to_url(), "data:image/png;base64,iVBORw0=");
        assert_eq!(
            ImageSource::from_url("https://x.test/a.png"),
            ImageSource::Url { url: "https://x.test/a.png".into() }
        );
        assert_eq!(ImageSource::from_url("data:nonsense"), ImageSource::Url { url: "data:nonsense".into() });
    }

    #[test]
    fn content_text_joins_text_parts() {
        let c = Content::Parts(vec![
            ContentPart::text("a"),
            ContentPart::image_url("https://x.test/i.png"),
            ContentPart::text("b"),
        ]);
        assert_eq!(c.text(), "ab");
        assert_eq!(Message::assistant_tool_calls(vec![]).text(), "");
    }

    #[test]
    fn role_aliases() {
        assert_eq!(Role::from("function"), Role::Tool);
        assert_eq!(Role::from("critic"), Role::Other("critic".into()));
    }
}
