//! The format of the files a runner and a component exchange: JSON, or YAML for a component
//! whose definition says `configuration_format: yaml` (reference §1, §2.1). The format decides
//! the names of the configuration, state and usage files (`config.yml`, `in/state.yml`,
//! `out/state.yml`, `out/usage.yml`) and the content — never the name — of manifests.

/// JSON (the default) or YAML.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum FileFormat {
    /// `config.json`, `state.json`, `usage.json`; JSON manifests.
    #[default]
    Json,
    /// `config.yml`, `state.yml`, `usage.yml`; YAML manifests.
    Yaml,
}

impl FileFormat {
    /// The format named by a component definition's `configuration_format` (`json`, `yaml`).
    pub fn from_configuration_format(name: &str) -> Option<Self> {
        match name {
            "json" => Some(Self::Json),
            "yaml" => Some(Self::Yaml),
            _ => None,
        }
    }

    /// `json` or `yaml`, as messages name it (`Failed to parse manifest file "…" as "yaml"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Yaml => "yaml",
        }
    }

    /// The file extension: `json` or `yml`.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Yaml => "yml",
        }
    }

    /// `<stem>.<extension>`: `state.yml`.
    pub fn file_name(self, stem: &str) -> String {
        format!("{stem}.{}", self.extension())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_extensions() {
        assert_eq!(FileFormat::default(), FileFormat::Json);
        assert_eq!(
            FileFormat::from_configuration_format("yaml"),
            Some(FileFormat::Yaml)
        );
        assert_eq!(FileFormat::from_configuration_format("YAML"), None);
        assert_eq!(FileFormat::from_configuration_format("yml"), None);
        assert_eq!(FileFormat::Yaml.file_name("config"), "config.yml");
        assert_eq!(FileFormat::Json.file_name("state"), "state.json");
        assert_eq!(FileFormat::Yaml.as_str(), "yaml");
    }
}
