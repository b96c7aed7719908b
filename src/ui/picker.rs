//! The prompt picker (Ctrl-P): prompts, the selected prompt's versions, and the selected
//! version's text or its line diff against the working file or a marked version.
//!
//! Three columns from [`THREE_COLUMNS_MIN_WIDTH`] on; below that the two lists stack on the
//! left so the text keeps a usable width at 80 columns.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph, Wrap};

use super::theme::Theme;
use crate::model::Model;
use crate::model::prompt::{Loadable, Picker, PickerFocus, PreviewMode, version_label};
use crate::prompts::{DiffKind, History, Version, VersionKind, diff_lines};
use crate::text;

/// From this width the picker shows three columns side by side.
pub const THREE_COLUMNS_MIN_WIDTH: u16 = 110;

/// Draws the picker into `area`.
pub fn render(model: &Model, picker: &Picker, theme: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let [help_area, body] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    let help = if area.width >= 110 {
        " Prompts · ↑↓ choose · ←→ switch column · Enter use · c compare · d diff · m mark diff base · PgUp/PgDn scroll · Esc close"
    } else {
        " ↑↓ ←→ move · Enter use · c compare · d diff · m mark base · Esc"
    };
    super::help_line(help, theme, frame, help_area);
    let (prompts_area, versions_area, preview_area) = if area.width >= THREE_COLUMNS_MIN_WIDTH {
        let [a, b, c] = Layout::horizontal([
            Constraint::Percentage(22),
            Constraint::Percentage(33),
            Constraint::Min(20),
        ])
        .areas(body);
        (a, b, c)
    } else {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(42), Constraint::Min(20)]).areas(body);
        let [a, b] = Layout::vertical([Constraint::Percentage(40), Constraint::Min(3)]).areas(left);
        (a, b, right)
    };
    render_prompts(model, picker, theme, frame, prompts_area);
    render_versions(model, picker, theme, frame, versions_area);
    render_preview(picker, theme, frame, preview_area);
}

fn block<'a>(title: &'a str, focused: bool, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(if focused { theme.accent } else { theme.border })
        .title(Line::styled(
            format!(" {title} "),
            if focused { theme.accent } else { theme.muted },
        ))
}

fn highlight(theme: &Theme, focused: bool) -> Style {
    if focused {
        theme.accent.add_modifier(Modifier::REVERSED)
    } else {
        Style::default().add_modifier(Modifier::REVERSED)
    }
}

fn render_prompts(
    model: &Model,
    picker: &Picker,
    theme: &Theme,
    frame: &mut Frame<'_>,
    area: Rect,
) {
    let focused = picker.focus == PickerFocus::Prompts;
    let active = model
        .lane
        .prompt
        .as_ref()
        .map(|a| a.provenance.name.as_str());
    let mut items = vec![ListItem::new(Line::from(vec![
        Span::raw(if active.is_none() { "● " } else { "  " }),
        Span::styled("(no prompt)", theme.muted),
    ]))];
    match &model.prompts.library {
        Loadable::Ready(names) if names.is_empty() => items.push(ListItem::new(Line::styled(
            "  none yet: add NAME.txt here",
            theme.muted,
        ))),
        Loadable::Ready(names) => items.extend(names.iter().map(|name| {
            let mark = if Some(name.as_str()) == active {
                "● "
            } else {
                "  "
            };
            ListItem::new(Line::raw(format!("{mark}{}", text::sanitize(name))))
        })),
        Loadable::Loading => items.push(ListItem::new(Line::styled("  listing…", theme.muted))),
        Loadable::Failed(e) => {
            items.push(ListItem::new(Line::styled(format!("  {e}"), theme.error)))
        }
    }
    let title = format!("prompts in {}", model.prompts.dir);
    let list = List::new(items)
        .block(block(&title, focused, theme))
        .highlight_style(highlight(theme, focused));
    let mut state = ListState::default().with_selected(Some(picker.selected));
    frame.render_stateful_widget(list, area, &mut state);
}

fn render_versions(
    model: &Model,
    picker: &Picker,
    theme: &Theme,
    frame: &mut Frame<'_>,
    area: Rect,
) {
    let focused = picker.focus == PickerFocus::Versions;
    let active_hash = model
        .lane
        .prompt
        .as_ref()
        .map(|a| &a.provenance.content_hash);
    let mut items = Vec::new();
    let mut selected = None;
    match &picker.versions {
        Loadable::Loading => items.push(ListItem::new(Line::styled("reading git…", theme.muted))),
        Loadable::Failed(e) => items.push(ListItem::new(Line::styled(e.clone(), theme.muted))),
        Loadable::Ready(listing) => {
            for v in &listing.versions {
                let mut mark = if Some(&v.id) == active_hash {
                    "●"
                } else {
                    " "
                }
                .to_string();
                mark.push(if picker.marked.as_ref() == Some(&v.id) {
                    '◆'
                } else {
                    ' '
                });
                let tone = match &v.kind {
                    VersionKind::Working { .. } => theme.accent,
                    VersionKind::Session { .. } => theme.warning,
                    VersionKind::Commit(_) => theme.normal,
                };
                let style = if v.text.is_none() { theme.muted } else { tone };
                items.push(ListItem::new(Line::from(vec![
                    Span::raw(mark),
                    Span::styled(text::sanitize(&version_label(v)), style),
                ])));
            }
            if let Some(e) = &listing.working_error {
                items.push(ListItem::new(Line::styled(
                    format!("working file: {}", text::sanitize(&e.to_string())),
                    theme.error,
                )));
            }
            if let History::NoRepo(reason) = &listing.history {
                items.push(ListItem::new(Line::styled(
                    format!("no git history: {reason}"),
                    theme.muted,
                )));
            }
            selected = Some(picker.version_selected);
        }
    }
    let list = List::new(items)
        .block(block("versions", focused, theme))
        .highlight_style(highlight(theme, focused));
    let mut state = ListState::default().with_selected(selected);
    frame.render_stateful_widget(list, area, &mut state);
}

fn render_preview(picker: &Picker, theme: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let Loadable::Ready(listing) = &picker.versions else {
        frame.render_widget(block("text", false, theme), area);
        return;
    };
    let Some(version) = picker.version() else {
        frame.render_widget(block("text", false, theme), area);
        return;
    };
    let provenance = listing.provenance_of(version);
    let mut lines = vec![Line::styled(provenance.describe(), theme.heading)];
    if let VersionKind::Commit(c) = &version.kind {
        lines.push(Line::styled(
            text::sanitize(&format!("{} · {} · {}", c.date_iso, c.author, c.subject)),
            theme.muted,
        ));
    }
    let vars = version
        .text
        .as_deref()
        .map(crate::prompts::variables)
        .unwrap_or_default();
    if !vars.is_empty() {
        let names: Vec<String> = vars.iter().map(|v| format!("{{{{{v}}}}}")).collect();
        lines.push(Line::styled(
            format!("variables: {}", names.join(" ")),
            theme.muted,
        ));
    }
    lines.push(Line::default());
    // The base of a diff: the marked version (`m`), else the working file. The older of the
    // two is `-` and the newer `+`, as git shows it (the list is newest first).
    let position =
        |id: &crate::prompts::ContentHash| listing.versions.iter().position(|v| v.id == *id);
    let base: Option<&Version> = match picker.preview {
        PreviewMode::Text => None,
        PreviewMode::Diff => picker
            .marked
            .as_ref()
            .and_then(|m| listing.versions.iter().find(|v| v.id == *m))
            .or_else(|| listing.working()),
    };
    let label = |v: &Version| {
        let mut label = match &v.kind {
            VersionKind::Working { .. } => "working file".to_string(),
            VersionKind::Commit(c) => c.short.get(..7).unwrap_or(&c.short).to_string(),
            VersionKind::Session { .. } => format!("#{}", v.id.short()),
        };
        if picker.marked.as_ref() == Some(&v.id) {
            label.push_str(" ◆");
        }
        label
    };
    let sides = base.map(|base| {
        let newer_is_selected = position(&version.id) <= position(&base.id);
        if newer_is_selected {
            (base, version)
        } else {
            (version, base)
        }
    });
    let title = match (picker.preview, sides) {
        (PreviewMode::Text, _) | (_, None) => "text".to_string(),
        (PreviewMode::Diff, Some((older, newer))) => {
            format!("diff − {} + {}", label(older), label(newer))
        }
    };
    match (&version.text, picker.preview, sides) {
        (None, _, _) => lines.push(Line::styled(
            version.problem.clone().unwrap_or_default(),
            theme.error,
        )),
        (Some(t), PreviewMode::Text, _) => {
            lines.extend(text::sanitize(t).lines().map(|l| Line::raw(l.to_string())));
        }
        (Some(_), _, None) => lines.push(Line::styled(
            "nothing to compare with: no working file, and no version marked (m)",
            theme.muted,
        )),
        (Some(_), _, Some((older, newer))) => {
            if older.id == newer.id {
                lines.push(Line::styled(
                    "the same text as the base: m marks another version as the base",
                    theme.muted,
                ));
            }
            let old = older.text.as_deref().unwrap_or("");
            let new = newer.text.as_deref().unwrap_or("");
            let diff = diff_lines(&text::sanitize(old), &text::sanitize(new));
            let (added, removed) = diff.iter().fold((0, 0), |(a, r), d| match d.kind {
                DiffKind::Added => (a + 1, r),
                DiffKind::Removed => (a, r + 1),
                DiffKind::Same => (a, r),
            });
            lines.push(Line::styled(
                format!("+{added} −{removed} lines · m marks the base"),
                theme.muted,
            ));
            for d in diff {
                let (sign, style) = match d.kind {
                    DiffKind::Same => ("  ", theme.normal),
                    DiffKind::Added => ("+ ", theme.success),
                    DiffKind::Removed => ("- ", theme.error),
                };
                lines.push(Line::styled(format!("{sign}{}", d.text), style));
            }
        }
    }
    let scroll = picker.preview_scroll.min(u16::MAX as usize) as u16;
    frame.render_widget(
        Paragraph::new(lines)
            .block(block(&title, false, theme))
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        area,
    );
}
