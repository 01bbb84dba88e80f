//! Whether Gemma's GPU pays for itself: at the period's traffic, what a Gemma reply costs (its
//! nodes' whole time, idle included, over its replies) against a Gemini reply (its tokens), and
//! from how many replies a day Gemma becomes the cheaper one. In one sentence and one chart
//! drawn here (SVG, no script).
//!
//! The method, as the page says it: the GPU nodes cost their hourly price every hour, busy or
//! idle; a Gemma reply held its wall time divided by the Gemma requests in flight beside it;
//! Gemini's replies cost their tokens. The nodes' daily cost over Gemini's mean cost per reply is
//! the break-even volume. Gemma can only reach it if its GPU, fully busy, serves replies for
//! less than Gemini charges: otherwise it is never the cheaper one.

use app::cost::dollars;
use app::html::escape;
use app::tally::ModelFigures;

/// The figures the comparison needs, for one period.
pub struct Inputs<'a> {
    pub gemma: &'a ModelFigures,
    pub gemini: &'a ModelFigures,
    /// The GPU nodes' price per hour, and the period's length in days (a part day counts).
    pub gpu_per_hour: f64,
    pub days: f64,
    /// "your chats'" or "everyone's".
    pub whose: &'a str,
}

/// The comparison, worked out.
#[derive(Debug, PartialEq)]
pub struct BreakEven {
    pub sentence: String,
    /// Gemini's mean cost per reply and Gemma's at full use (nano-dollars), the nodes' daily
    /// cost, the period's Gemma replies a day, and the volume where the two meet (if ever).
    gemini_reply: f64,
    gemma_floor: Option<f64>,
    nodes_daily: f64,
    gemma_per_day: f64,
    meet: Option<f64>,
}

pub fn work_out(i: &Inputs) -> BreakEven {
    let nodes_daily = i.gpu_per_hour * 24.0 * 1e9;
    let nodes_period = nodes_daily * i.days;
    let held = i.gpu_per_hour * i.gemma.gpu_ms as f64 / 3_600_000.0 * 1e9;
    let idle = (nodes_period - held).max(0.0);
    let gemma_per_day = i.gemma.replies as f64 / i.days.max(1e-9);
    // Gemma's reply at full use: its mean share of GPU time.
    let gemma_floor = (i.gemma.costed > 0).then(|| held / i.gemma.costed as f64);
    let usd = |n: f64| dollars(n.round().max(0.0) as u64);
    let nodes = format!(
        "Its GPU nodes cost {} over the period, {} of it while idle.",
        usd(nodes_period),
        usd(idle)
    );
    let Some(gemini_reply) = i.gemini.mean_cost_nano() else {
        return BreakEven {
            sentence: format!(
                "No priced Gemini replies in {} chats in this period, so nothing to compare Gemma with. {nodes}",
                i.whose
            ),
            gemini_reply: 0.0,
            gemma_floor,
            nodes_daily,
            gemma_per_day,
            meet: None,
        };
    };
    let meet = nodes_daily / gemini_reply.max(1e-9);
    let (sentence, meet) = match gemma_floor {
        None => (
            format!(
                "No Gemma replies in {} chats in this period. A Gemini reply cost {}; Gemma's nodes ({} a day) would pay off from {} replies a day, if their GPU can serve that many. {nodes}",
                i.whose,
                usd(gemini_reply),
                usd(nodes_daily),
                whole(meet),
            ),
            Some(meet),
        ),
        Some(floor) if floor >= gemini_reply => (
            format!(
                "Gemma is never the cheaper one at any volume: even with its GPU busy all day, a Gemma reply holds {} of GPU time, against {} for a Gemini reply (at {} chats' traffic). {nodes}",
                usd(floor),
                usd(gemini_reply),
                i.whose,
            ),
            None,
        ),
        Some(_) => {
            let gemma_reply = nodes_period / i.gemma.replies.max(1) as f64;
            let cheaper = if gemma_reply < gemini_reply {
                "Gemma is the cheaper one; it stays so above"
            } else {
                "Gemini is the cheaper one; Gemma becomes cheaper from"
            };
            (
                format!(
                    "At {} chats' traffic ({} Gemma replies a day), a Gemma reply costs {} (its nodes' whole time, idle included) and a Gemini reply {}: {cheaper} {} replies a day. {nodes}",
                    i.whose,
                    one_decimal(gemma_per_day),
                    usd(gemma_reply),
                    usd(gemini_reply),
                    whole(meet),
                ),
                Some(meet),
            )
        }
    };
    BreakEven {
        sentence,
        gemini_reply,
        gemma_floor,
        nodes_daily,
        gemma_per_day,
        meet,
    }
}

fn whole(n: f64) -> String {
    format!("{:.0}", n.ceil())
}

fn one_decimal(n: f64) -> String {
    let s = format!("{n:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// The chart: cost per reply against replies a day. Gemini's is flat; Gemma's is its nodes'
/// daily cost spread over the replies, down to its GPU-time floor. The period's traffic and the
/// meeting point are marked.
pub fn chart(b: &BreakEven) -> String {
    if b.gemini_reply <= 0.0 {
        return String::new();
    }
    let (w, h, left, bottom) = (560.0, 240.0, 70.0, 30.0);
    let x_max = [b.meet.unwrap_or(0.0) * 2.0, b.gemma_per_day * 2.0, 10.0]
        .into_iter()
        .fold(0.0, f64::max);
    let y_max = b.gemini_reply * 3.0;
    let x = |v: f64| left + v / x_max * (w - left - 10.0);
    let y = |v: f64| (h - bottom) - v.min(y_max) / y_max * (h - bottom - 10.0);
    let floor = b.gemma_floor.unwrap_or(0.0);
    let gemma_at = |v: f64| (b.nodes_daily / v.max(1e-9)).max(floor);
    let points: Vec<String> = (1..=80)
        .map(|k| {
            let v = x_max * k as f64 / 80.0;
            format!("{:.1},{:.1}", x(v), y(gemma_at(v)))
        })
        .collect();
    let mut marks = String::new();
    if b.gemma_per_day > 0.0 {
        marks += &format!(
            r#"<line class="now" x1="{0:.1}" x2="{0:.1}" y1="10" y2="{1:.1}"/><text x="{2:.1}" y="22">now</text>"#,
            x(b.gemma_per_day),
            h - bottom,
            x(b.gemma_per_day) + 4.0
        );
    }
    if let Some(m) = b.meet {
        marks += &format!(
            r#"<circle class="meet" cx="{:.1}" cy="{:.1}" r="4"/>"#,
            x(m),
            y(b.gemini_reply)
        );
    }
    let usd = |n: f64| escape(&dollars(n.round().max(0.0) as u64));
    format!(
        r#"<figure class="break-even-chart"><svg viewBox="0 0 {w} {h}" role="img" aria-labelledby="break-even-title break-even-desc"><title id="break-even-title">Cost per reply against replies a day</title><desc id="break-even-desc">{desc}</desc><line class="axis" x1="{left}" y1="{base}" x2="{w}" y2="{base}"/><line class="axis" x1="{left}" y1="10" x2="{left}" y2="{base}"/><polyline class="gemma" points="{points}"/><line class="gemini" x1="{left}" x2="{w}" y1="{gy:.1}" y2="{gy:.1}"/>{marks}<text x="4" y="{gy:.1}">{gemini}</text><text x="{left}" y="{label_y}">0</text><text x="{xr:.1}" y="{label_y}" text-anchor="end">{xmax} a day</text></svg><figcaption><span class="key gemma">Gemma</span> its nodes' daily cost per reply, down to its GPU time; <span class="key gemini">Gemini</span> its mean cost per reply.</figcaption></figure>"#,
        desc = escape(&b.sentence),
        base = h - bottom,
        points = points.join(" "),
        gy = y(b.gemini_reply),
        gemini = usd(b.gemini_reply),
        label_y = h - 10.0,
        xr = w - 4.0,
        xmax = whole(x_max),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::models::ModelId;

    fn figures(model: ModelId, replies: i64, spend_nano: u64, gpu_ms: i64) -> ModelFigures {
        ModelFigures {
            model,
            replies,
            failures: 0,
            median_ms: None,
            tokens_per_reply: None,
            spend_nano,
            costed: replies,
            gpu_ms,
            median_cost: None,
            output_tokens: 0,
        }
    }

    fn inputs<'a>(gemma: &'a ModelFigures, gemini: &'a ModelFigures) -> Inputs<'a> {
        Inputs {
            gemma,
            gemini,
            gpu_per_hour: 4.0,
            days: 1.0,
            whose: "everyone's",
        }
    }

    #[test]
    fn gemma_wins_when_its_nodes_are_busy_enough() {
        // $96 a day of nodes; Gemini at $0.01 a reply meets it at 9,600 a day. 20,000 Gemma
        // replies of 2 s each fill 11 h of the day.
        let gemma = figures(ModelId::Gemma, 20_000, 0, 20_000 * 2_000);
        let gemini = figures(ModelId::Gemini, 100, 100 * 10_000_000, 0);
        let b = work_out(&inputs(&gemma, &gemini));
        assert!(
            b.sentence.contains("Gemma is the cheaper one"),
            "{}",
            b.sentence
        );
        assert!(b.sentence.contains("9600 replies a day"), "{}", b.sentence);
        assert!(
            b.sentence.contains("a Gemma reply costs $0.0048"),
            "{}",
            b.sentence
        );
        assert!(chart(&b).contains("<circle"));
    }

    #[test]
    fn gemini_wins_at_low_traffic_and_says_where_gemma_would() {
        let gemma = figures(ModelId::Gemma, 100, 0, 100 * 2_000);
        let gemini = figures(ModelId::Gemini, 100, 100 * 10_000_000, 0);
        let b = work_out(&inputs(&gemma, &gemini));
        assert!(
            b.sentence
                .contains("Gemini is the cheaper one; Gemma becomes cheaper from 9600"),
            "{}",
            b.sentence
        );
        assert!(
            b.sentence.contains("$96.00 over the period"),
            "{}",
            b.sentence
        );
    }

    #[test]
    fn gemma_is_never_cheaper_when_its_gpu_time_costs_more_than_gemini() {
        // 60 s of GPU alone per reply at $4/h is $0.067, against Gemini's $0.01.
        let gemma = figures(ModelId::Gemma, 10, 0, 10 * 60_000);
        let gemini = figures(ModelId::Gemini, 10, 10 * 10_000_000, 0);
        let b = work_out(&inputs(&gemma, &gemini));
        assert!(
            b.sentence.starts_with("Gemma is never the cheaper one"),
            "{}",
            b.sentence
        );
        assert_eq!(b.meet, None);
    }

    #[test]
    fn no_gemma_traffic_still_gives_the_volume_it_would_need() {
        let gemma = figures(ModelId::Gemma, 0, 0, 0);
        let gemini = figures(ModelId::Gemini, 10, 10 * 10_000_000, 0);
        let b = work_out(&inputs(&gemma, &gemini));
        assert!(b.sentence.starts_with("No Gemma replies"), "{}", b.sentence);
        assert!(b.sentence.contains("9600 replies a day"), "{}", b.sentence);
        let none = work_out(&inputs(&gemma, &figures(ModelId::Gemini, 0, 0, 0)));
        assert!(none.sentence.starts_with("No priced Gemini replies"));
        assert_eq!(chart(&none), "");
    }
}
