//! Model picker and sampling sliders. The inputs belong to the composer's form (`form=`), so a
//! plain form post without JavaScript sends them along with the message.

use crate::chat::state::ChatState;
use crate::models::{ModelId, ModelOption};
use crate::params::{
    decimal, SliderSpec, Thinking, MAX_TOKENS, TEMPERATURE, THINKING_CHOICES, TOP_P,
};
use leptos::prelude::*;

pub const COMPOSER_FORM_ID: &str = "composer";

#[component]
pub fn SettingsPanel() -> impl IntoView {
    let state = expect_context::<ChatState>();
    // Where each model stands, kept true while the page is open (`ChatState::watch_models`): a
    // Gemma that was unreachable becomes available once its pod is up, without a reload.
    let statuses = move || {
        state.models.with(|models| {
            models
                .iter()
                .filter_map(|m| {
                    m.availability.describe().map(|why| {
                        let class = format!("model-status {}", m.availability.css_class());
                        // The offer is words in the status (a screen reader hears it with the
                        // picker) and, once interactive, the button below.
                        let text = match offer_instead(m, models) {
                            Some(other) => format!("{why} {} can answer now.", other.short_name()),
                            None => why.to_string(),
                        };
                        view! {
                            <p class=class id=status_id(m.id) data-model=m.id.as_str()>{text}</p>
                        }
                    })
                })
                .collect_view()
        })
    };
    // The picker's description is why a model cannot be picked, when one cannot.
    let described_by = move || {
        let ids = state.models.with(|models| {
            models
                .iter()
                .filter(|m| m.availability.describe().is_some())
                .map(|m| status_id(m.id))
                .collect::<Vec<_>>()
                .join(" ")
        });
        (!ids.is_empty()).then_some(ids)
    };
    let option = move |id: ModelId| {
        state
            .models
            .with(|ms| ms.iter().find(|m| m.id == id).cloned())
    };

    view! {
        <section class="settings" aria-labelledby="settings-heading">
            <h2 id="settings-heading">"Settings"</h2>
            <label for="model">"Model"</label>
            <select
                id="model"
                aria-describedby=described_by
                name="model"
                form=COMPOSER_FORM_ID
                prop:value=move || state.model.get().as_str()
                on:change=move |ev| {
                    if let Some(id) = ModelId::parse(&event_target_value(&ev)) {
                        state.model.set(id);
                    }
                }
            >
                {ModelId::ALL
                    .into_iter()
                    .map(|id| {
                        view! {
                            <option
                                value=id.as_str()
                                selected=move || state.model.get() == id
                                disabled=move || !option(id).is_some_and(|m| m.availability.selectable())
                            >
                                {move || option(id).map(|m| m.picker_text()).unwrap_or_default()}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
            {statuses}
            {offer_button(state)}
            <Slider spec=TEMPERATURE value=Signal::derive(move || state.temperature.get() as f64)
                on_input=move |v| state.temperature.set(v as f32)/>
            <Slider spec=TOP_P value=Signal::derive(move || state.top_p.get() as f64)
                on_input=move |v| state.top_p.set(v as f32)/>
            <Slider spec=MAX_TOKENS value=Signal::derive(move || state.max_tokens.get() as f64)
                on_input=move |v| state.max_tokens.set(v as u32)/>
            <ThinkingPicker/>
            <p class="hint"><a href="/models">"How the models compare"</a></p>
        </section>
    }
}

/// Gemini's thinking, beside the sliders and in the composer's form, so a plain post sends it
/// too. It comes on top of Max tokens, which stays the length of the answer.
#[component]
fn ThinkingPicker() -> impl IntoView {
    let state = expect_context::<ChatState>();
    // The page's own value is offered even if it is not one of the usual choices
    // (`GEMINI_THINKING=512`, or a chat sent with one).
    let mut choices = THINKING_CHOICES.to_vec();
    if let Some(t) = state.thinking.get_untracked() {
        if !choices.contains(&t) {
            choices.push(t);
        }
    }
    view! {
        <div class="thinking">
            <label for="thinking">"Gemini thinking"</label>
            <select
                id="thinking"
                name="thinking"
                form=COMPOSER_FORM_ID
                aria-describedby="thinking-hint"
                on:change=move |ev| {
                    if let Ok(t) = Thinking::parse(&event_target_value(&ev)) {
                        state.thinking.set(Some(t));
                    }
                }
            >
                {choices
                    .into_iter()
                    .map(|t| {
                        view! {
                            <option value=t.to_string() selected=move || state.thinking.get() == Some(t)>
                                {t.label()}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
            <p id="thinking-hint" class="hint">"Gemini only: thinking comes on top of Max tokens and is billed as output."</p>
        </div>
    }
}

/// The model to offer instead of `m` when a message sent to `m` now would wait or fail, and
/// another one is free.
fn offer_instead(m: &ModelOption, models: &[ModelOption]) -> Option<ModelId> {
    m.availability.slowed().then_some(())?;
    models
        .iter()
        .find(|o| o.id != m.id && o.availability.selectable() && !o.availability.slowed())
        .map(|o| o.id)
}

/// The button that picks the model offered instead of the chosen one, once the page is
/// interactive (without JavaScript, the status's words point at the picker).
fn offer_button(state: ChatState) -> impl IntoView {
    move || {
        let other = state.models.with(|ms| {
            ms.iter()
                .find(|m| m.id == state.model.get())
                .and_then(|m| offer_instead(m, ms))
        });
        other.filter(|_| state.hydrated.get()).map(|other| {
            view! {
                <button type="button" class="offer-other" on:click=move |_| state.model.set(other)>
                    "Use " {other.short_name()}
                </button>
            }
        })
    }
}

fn status_id(model: ModelId) -> String {
    format!("model-status-{}", model.as_str())
}

#[component]
fn Slider(
    spec: SliderSpec,
    #[prop(into)] value: Signal<f64>,
    on_input: impl Fn(f64) + 'static,
) -> impl IntoView {
    let id = spec.field;
    // Values are f32 in state; print them at the slider's precision, not as 0.8999999761581421.
    let places = if spec.step >= 1.0 { 0 } else { 2 };
    let shown = move || decimal(value.get(), places);
    view! {
        <div class="slider">
            <label for=id>{spec.label}</label>
            <output for=id id=format!("{id}-value")>{shown}</output>
            <input
                type="range"
                id=id
                name=id
                form=COMPOSER_FORM_ID
                min=decimal(spec.min, places)
                max=decimal(spec.max, places)
                step=decimal(spec.step, places)
                value=shown
                prop:value=shown
                aria-valuetext=move || match spec.unit {
                    Some(unit) => format!("{} {unit}", shown()),
                    None => shown(),
                }
                on:input=move |ev| {
                    if let Ok(v) = spec.parse(&event_target_value(&ev)) {
                        on_input(v);
                    }
                }
            />
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::offer_instead;
    use crate::models::{Availability, ModelId, ModelOption};

    fn option(id: ModelId, availability: Availability) -> ModelOption {
        ModelOption { id, availability }
    }

    #[test]
    fn another_model_is_offered_only_when_it_can_answer_now() {
        let busy = option(ModelId::Gemma, Availability::Busy("12 waiting".into()));
        let gemini = |a| option(ModelId::Gemini, a);
        let offer = |other| offer_instead(&busy, &[busy.clone(), other]);
        assert_eq!(
            offer(gemini(Availability::Available)),
            Some(ModelId::Gemini)
        );
        assert_eq!(offer(gemini(Availability::Unknown)), Some(ModelId::Gemini));
        assert_eq!(
            offer(gemini(Availability::NotConfigured("no".into()))),
            None
        );
        assert_eq!(
            offer(gemini(Availability::Unreachable("down".into()))),
            None
        );
        assert_eq!(offer(gemini(Availability::Busy("queue".into()))), None);
        let up = option(ModelId::Gemma, Availability::Available);
        assert_eq!(
            offer_instead(&up, &[up.clone(), gemini(Availability::Available)]),
            None,
            "nothing to offer instead of a model that answers now"
        );
    }
}
