"""Case-independent signal patterns (baseline, A/B test, drift, ...) matched on normalised sentences."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from agent.grading.text import Sentence, normalize

_FROM_TO = (
    r"(?:regression|classification|classifier|model|mapping|maps?) from (?!scratch)[^.;]{3,120}? to (?:the |a |an )?"
    r"(?:minutes|probability|score|label|class|time|price|number|rating|count|value)"
)
"""A framing that names input and output at once ("regression from the order and the time of day to the minutes")."""


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![a-z0-9])(?:{pattern})(?![a-z0-9])", re.IGNORECASE)


_CADENCE = r"(?:daily|weekly|monthly|quarterly|nightly|hourly|every (?:day|week|month|quarter|night|hour|\d+))"
_NUM = r"\d[\d,.]*\s*(?:k|m|b|bn|mm|million|billion|thousand|hundred|%)?"

_COMPONENT = (
    r"(?:models?|services?|feature (?:store|fetch|lookup|service)s?|features?|fetch|re-?rankers?|rankers?|scorers?|"
    r"scoring|inference|encoders?|shards?|index|servers?|calls?|lookups?|classifiers?|detectors?|dependency|api|"
    r"gpu(?: pool| cluster)?s?|pool|cluster|ann|endpoint|pipeline|stream|embedding service|cache)"
)
"""A part of the serving path that can fail."""
_FAILS = (
    r"(?:(?:is|are|gets?|goes|went|becomes?|runs?) (?:down|unavailable|slow(?! to)|stale|overloaded|saturated|"
    r"unreachable|late|behind)|fails?(?! to)|failed|times? out|timed out|saturates|errors? out|crash\w*|"
    r"(?:misses|blows|breaches|exceeds|overruns) (?:its|the|our|a) (?:deadline|budget|slo|latency\w*)|"
    # "if the model doesn't answer within 40 ms"
    r"(?:doesn'?t|does not|didn'?t|won'?t|can'?t|cannot) (?:answer|respond|reply|come back))\b"
)
"""How a serving component fails."""
_INSTEAD = (
    r"\b(?:serve[sd]?|show[sn]?|returns?|use[sd]?|falls?|go(?:es)? out|instead|defaults?|skips?|reverts?|"
    r"degrade[sd]?|display(?:s|ed)?|publish(?:es|ed)?|only|alone|waits?|queues?|routes?|sends?|keeps?|"
    r"hold[s]?)\b|->|\u2192|=>"
)
"""What the design does instead when a component fails."""


SIGNALS: dict[str, dict[str, re.Pattern[str]]] = {
    "requirements": {
        "question": _rx(
            r"clarif\w*|i(?:'d| would) ask|questions?|ask (?:about|whether|what|how)|"
            r"(?:i'?d|i would) like to (?:understand|know|check|confirm)|i want to (?:understand|know|check|confirm)|"
            r"(?:help me|let me) understand"
        ),
        "assumption": _rx(
            r"assum\w+|let'?s say|suppose|i(?:'ll| will) take|working (?:numbers|assumptions|figures)|"
            r"(?:which |that )?i'?d (?:confirm|check|verify|want to (?:know|confirm|check|understand))|"
            r"(?:agree|agreeing|align|aligning|settle|settling) (?:on )?what|correct me if|if i misheard|"
            r"(?:my )?working picture"
        ),
        "business_goal": _rx(
            r"business (?:goal|objective|metric|value|kpi)s?|kpis?|north star|revenue|retention|engagement|"
            r"watch time|conversions?|bookings?|gmv|profit|losses|user satisfaction|satisfaction|churn|"
            r"time spent|daily active|return rate|cost of (?:a )?(?:miss|fraud|errors?)|"
            # A stated goal ("Goal: ...", "the point is to ...", "success means ..."), but not a training objective.
            r"(?<!training )(?<!learning )(?<!ml )(?<!loss )(?:goal|objective|aim|purpose)(?: here)? (?:is|=|:)|"
            r"(?:the )?point (?:here )?is to|goals? ?[=:]|success (?:is|means|looks like|for the business)|"
            r"(?:from|on) the business side|^business side\b|"
            r"(?:measure|judge|define|call) success (?:as|by|on|with)|"
            r"success (?:metric|measure)s? (?:is|are|would be|=|:)|"
            r"measure of success|(?:primary|headline|top[- ]line) (?:business )?(?:metric|kpi|number)|"
            r"^(?:the )?(?:business |main |primary |product )?(?:goals?|aims?|purpose)\b|"
            r"compliance|privacy (?:law|regulation)s?|regulator\w*|user trust|public trust|"
            r"legal (?:risk|exposure|requirement|obligation)s?|"
            # the business cost of each error: "a miss is the expensive error", "a missed face is far worse"
            r"\b(?:a |the )?miss(?:ed [\w-]+)? is (?:the |far |much )?(?:more )?(?:expensive|costly|worse)"
        ),
        "scale": _rx(
            rf"{_NUM}\s*(?:daily active users|monthly active users|dau|mau|users|members|customers|qps|rps|tps|"
            r"requests|queries|searches|transactions|payments|orders|items|videos|posts|listings|products|events|"
            r"ads|images|panoramas|emails|messages|documents|impressions|candidates|per second|/s|a day|per day|"
            r"ms|milliseconds|seconds|gb|tb|pb)"
            rf"|{_NUM}\s*(?:million|billion)|p9[59]|p50|"
            # sizes in words: "about a million upcoming events", "tens of thousands of requests per second"
            r"(?:a|one|two|three|four|five|six|seven|eight|nine|ten|a few|several|tens of|hundreds of)"
            r" (?:hundred |thousand |million |billion )*(?:thousand|million|billion)s?"
        ),
        "latency_budget": _rx(rf"{_NUM}\s*(?:ms|milliseconds)|latency (?:budget|requirement|target|sla)|p99"),
        "constraints": _rx(r"constraints?|privacy|gdpr|regulat\w+|compliance|fairness|diversity|safety|budget"),
    },
    "framing": {
        "input": _rx(
            r"inputs?|given (?:a|an|the|each|every) \w+|takes? (?:in|as input)|features? of the|"
            # "for each (viewer, post) we predict ...", "for a viewer and a candidate post, predict ..."
            r"for (?:each|every|a|an|any) [^.;]{1,80}?(?:we |i |i'?d |the model |it )?"
            r"(?:predict|estimate|score|classify|output|compute|regress)|"
            r"(?:model|tower|network|encoder|classifier|ranker|detector|regressor|transformer) (?:that )?"
            r"(?:takes|reads|consumes|sees|ingests|is fed)|(?:go|goes) in(?:to (?:the|a) (?:model|network))?|"
            r"^in (?:[\w+()/,-]+ ?){1,4}\.?$|what (?:it|the model) sees|"
            # "regression from the order, the restaurant and the time of day to the minutes until delivery"
            rf"{_FROM_TO}|"
            # "binary classification per message", "rank completions for a prefix", "each example pairs a query with"
            r"(?:classif\w*|rank\w*|scor\w*|regress\w*|estimat\w*) (?:[\w-]+ ){0,3}?(?:per|for (?:a|an|each|every)) "
            r"[\w-]+|(?:each|every|one) (?:training )?(?:example|row|instance|sample) (?:is|pairs|has|holds|contains|"
            r"combines)"
        ),
        "output": _rx(
            r"outputs?|predicts?|predicting|returns? (?:a|the|an) (?:ranked|sorted|list|score|probability)|"
            r"(?:model|tower|network|encoder|classifier|ranker|detector|regressor|it|they|both) produces?|the score is|"
            r"ranked list|top[- ]?k|top[- ]?\d+|scores? (?:each|every)|probability (?:of|that)|estimates?|"
            r"comes? out(?! of)|out comes? (?:a|an|the)\b|^out (?!of\b)(?:[\w+()/,-]+ ?){1,12}\.?$|"
            r"what (?:it|the model) (?:gives|hands) back|"
            rf"{_FROM_TO}"
        ),
        "label": _rx(
            r"labels?|labell?ed|ground truth|target variable|targets?|positives?|negatives?|y =|"
            r"what (?:it|the model) learns from|(?:graded|binary) outcomes?|relevance grades?|"
            r"predict\w* (?:the |a )?(?:probability|likelihood|chance|odds) (?:of|that|they|the user|a user|users?)"
        ),
        "task_type": _rx(
            r"(?:binary |multi[- ]?class |multi[- ]?label )?classification|classifier|regression|ranking|"
            r"learning[- ]to[- ]rank|ltr|retrieval|object detection|detection|recommendation problem|"
            r"pointwise|pairwise|listwise|segmentation|sequence prediction|language model(?:ling|ing)?|"
            r"similarity search|nearest neighbou?r search"
        ),
        "objective": _rx(r"ml objective|objective|optimi[sz]e for|proxy"),
    },
    "data": {
        "sources": _rx(
            r"logs?(?![- ](?:transform\w*|variance|loss|scale|odds|likelihood|probabilit\w*|space))|logged|logging|"
            r"(?<!embedding )(?<!lookup )(?<!hash )(?<!hashed )tables?|warehouse|data lake|event streams?|streams?|"
            r"kafka|historical \w+|"
            r"impressions?|click ?stream|annotat\w*|labell?ing|labell?ers|raters|human (?:review\w*|labels?|"
            r"annotators?|moderators?)|crowd\w*|user reports|reports|chargebacks?|vendor|interaction data|"
            r"implicit feedback|explicit feedback|collect\w*|records|transactions? history|order history|"
            r"search history|watch history|click data|engagement data|query logs|"
            # "two years of orders with the stage timestamps": past records as the example source
            r"(?:years?|months?|weeks?|days?) of (?:historical |past |completed |logged )?(?:orders|trips|deliveries|"
            r"payments|transactions|sessions|searches|impressions|clicks|bookings|messages|posts|uploads|history|"
            r"data|events|invitations|panoramas|ratings)"
        ),
        "features": _rx(r"features?|feature engineering|embeddings?|counters?|aggregates?|signals"),
        "split": _rx(
            r"(?:time[- ]based|temporal|chronological|out[- ]of[- ]time|point[- ]in[- ]time|random|grouped|group)"
            r" ?split|split (?:by|on) (?:time|date|day|user|drive)|train(?:ing)?[ /,]+(?:validation|test)|"
            r"hold[- ]?out (?:set|period|days)"
        ),
        "imbalance": _rx(
            r"imbalance\w*|rare (?:positives?|class|events?)|down[- ]?sampl\w*|under[- ]?sampl\w*|"
            r"over[- ]?sampl\w*|smote|class weights?|weighted loss|focal loss|re-?weight\w*|"
            r"negative sampling|base rate|positive rate|recalibrat\w*|up[- ]?weight\w*|"
            # "weight positives by about 100", "a weight of 100 in the loss", "fraud gets a higher weight"
            r"weight\w* (?:the )?(?:positives?|rare|minority|fraud\w*|spam|phishing|clicks?|conversions?)|"
            r"weight of \d+|(?:higher|more|extra|bigger|larger) weights?"
        ),
        "privacy": _rx(r"privacy|gdpr|pii|anonymi[sz]\w*|consent|encrypt\w*"),
        "feature_store": _rx(r"feature store|shared (?:feature )?pipeline|same (?:feature )?code|logged features"),
    },
    "modeling": {
        "baseline": _rx(
            r"baselines?|heuristics?|rule[- ]based|rules engine|rules|popularity|most popular|trending|"
            r"logistic regression|linear (?:model|regression)|bm25|tf[- ]?idf|gbdts?|gradient[- ]boost\w*|"
            r"boosted trees|xgboost|lightgbm|catboost|historical averages?|simple (?:model|first model|heuristic)|"
            r"off[- ]the[- ]shelf|pre[- ]?trained|matrix factori[sz]ation|co[- ]?(?:watch|visitation|occurrence)|"
            r"naive bayes|start simple|keyword match\w*|n[- ]?gram counts?|frequency[- ]based"
        ),
        "complex_model": _rx(
            r"deep (?:learning|neural|model|network|ranker|ranking model)|neural (?:net|network)s?|dnns?|"
            r"transformers?|bert|gpt|llms?|two[- ]tower|dual[- ]encoder|gnns?|graph neural|lstms?|rnns?|cnns?|"
            r"resnet|vit|(?:self|cross|multi[- ]head)[- ]attention|"
            r"attention (?:layers?|heads?|mechanism|pooling|model|network)|"
            r"multi[- ]task (?:network|model|dnn|neural)|wide (?:&|and) deep|dcn|deepfm|"
            r"cross[- ]encoder|yolo|faster r-?cnn|retinanet|mask r-?cnn|din|seq2seq|encoder"
        ),
        "model_any": _rx(
            r"models?|classifiers?|ranker|regressor|network|xgboost|gbdt|logistic regression|algorithm|"
            r"two[- ]tower|transformer|detector"
        ),
        "funnel": _rx(
            r"candidate generation|candidate (?:retrieval|set|sources?|stage)|retrieval stage|two[- ]stage|"
            r"multi[- ]stage|funnel|ann\b|approximate nearest|nearest[- ]neighbou?r|faiss|scann|hnsw|shortlist|"
            r"first stage|inverted index|pre[- ]?filter\w*|re[- ]?rank\w*|retrieve (?:a few|top|the top|\d+)"
        ),
        "loss": _rx(
            r"loss(?: function)?|cross[- ]entropy|log[- ]?loss|softmax|contrastive|triplet|hinge|mse loss|"
            r"focal loss|bpr|lambdarank|negatives?"
        ),
        "cold_start": _rx(
            r"cold[- ]?start|new (?:users?|items?|videos?|listings?|events?|ads?|advertisers?|members?|posts?|"
            r"creators?|uploads?|products?|accounts?|queries)|no history|without history|little history|"
            r"onboarding|content[- ]based|content features|exploration|explore[- ]exploit|"
            r"explor\w+ (?:slots?|share|slice|traffic|budget|rate|bucket|arms?|polic\w+)|bandits?|freshness boost"
        ),
        "internals": _rx(
            r"layers?|heads?|hidden (?:units|size|dim\w*)|dimensions?|activation|relu|gelu|dropout|"
            r"optimi[sz]er|adam\w*|sgd|learning rate|batch size|epochs?|embedding (?:size|dim\w*)|"
            r"residual|layer ?norm|batch ?norm|warm[- ]?up|weight decay|attention heads?|blocks?|"
            r"parameters|kernel size|pooling|\d+-dimensional|softmax|in-batch negatives|log-q|"
            r"hash(?:ed|ing) (?:into|trick)|rotary|positional (?:encoding|embedding)s?|key-value (?:cache|groups?)"
        ),
    },
    "evaluation": {
        "offline_metric": _rx(
            r"auc|roc|pr[- ]?auc|(?<!mixed )(?<!half )(?<!full )(?<!single )(?<!double )precision|recall|f1|f-score|"
            r"ndcg|mrr|map|mean average precision|"
            r"average precision|log[- ]?loss|rmse|mae|mape|mse|hit ?rate|hits?@\s?\d*|recall@\s?\w*|"
            r"precision@\s?\w*|iou|accuracy|calibration|normali[sz]ed (?:cross[- ])?entropy|offline metrics?|"
            r"top[- ]?k accuracy|coverage|expected calibration error|brier|p50 error|mean absolute error|"
            r"(?:mean )?reciprocal rank"
        ),
        "online_test": _rx(
            r"a/?b[- ]?test\w*|a/b|split test\w*|online (?:experiment|test|evaluation|metric)s?|"
            r"controlled experiment|interleav\w*|hold[- ]?out (?:group|set of users|traffic)|holdout|"
            r"treatment (?:and|vs\.?) control|champion[- ]challenger|canary|shadow (?:mode|test|deployment)|"
            r"experiment\w*|bucket test"
        ),
        "online_metric": _rx(
            r"ctr|click[- ]through rate|conversion rate|watch time|retention|revenue|session length|"
            r"bookings?|dwell time|engagement rate|acceptance rate|connection rate|complaint rate|"
            r"report rate|approval rate|fraud (?:losses|basis points)|on[- ]time rate|guardrails?"
        ),
    },
    "serving": {
        "mode": _rx(
            r"batch (?:prediction|inference|scoring|job|pipeline)|online (?:prediction|inference|scoring|serving)|"
            r"real[- ]time (?:inference|scoring|prediction|serving)|precomput\w+|pre-comput\w+|nightly|"
            r"streaming inference|on[- ]device|at (?:request|query) time|synchronous\w*|asynchronous\w*|"
            r"(?:per|on every|on each|for each|for every) (?:request|query|page load|keystroke)|"
            r"when (?:a|the) (?:user|viewer|member|customer|shopper) (?:opens|loads|visits|requests|types|searches|"
            r"refreshes|scrolls)"
        ),
        "latency": _rx(rf"latency|{_NUM}\s*(?:ms|milliseconds)|p99|response time|sla|time budget"),
        "infra": _rx(
            r"serving|deploy\w*|endpoint|api|micro-?service|service|model server|triton|tf serving|kubernetes|"
            r"k8s|gpus?|cpus?|inference|feature store|redis|key[- ]value store|index|onnx|quanti[sz]\w+|"
            r"distill\w*|load balanc\w*|request path|serving path"
        ),
        "cache": _rx(r"cach\w+|ttl|memoi[sz]\w*"),
        "scaling": _rx(r"autoscal\w*|replicas?|horizontal\w* scal\w*|shard\w*|scale out|throughput"),
        "fallback": _rx(
            r"fall ?backs?|falls back|graceful(?:ly)? degrad\w*|degraded (?:mode|answer|response|results?)|"
            r"circuit[- ]breaker|fail[- ](?:open|closed)|fails? (?:open|closed)|default (?:to|value|feed|list|"
            r"ranking|score|decision|results?|prediction)s?|backup model|roll ?back|previous model version|"
            r"if (?:the|a|an|any|one|some) (?:[\w-]+ ){0,3}?(?:model|service|feature store|features?|(?:re)?ranker|"
            r"scorer|scoring|inference|encoder|shard|index|server|call|lookup|classifier|detector|dependency|api|"
            r"gpu pool|pool|cluster|gpus?) "
            r"(?:is |are )?(?:down|fails?(?! to)|times? out|timed out|unavailable|slow(?! to)|missing|stale|overloaded|"
            r"saturated|unreachable|errors?)|"
            r"serve (?:cached|popular|trending|the previous|a default)|missing (?:[\w-]+ )?features?|"
            r"(?:timeout|outage|failure) (?:returns|falls back|leaves|shows|means)|^degradation\b|"
            r"(?:rather than|instead of) (?:an? )?(?:error|empty (?:page|result|list|response)|blank)|"
            r"(?:never|doesn'?t|won'?t) (?:comes? back|returns?|shows?) (?:empty|blank|an? error)|"
            # a condition naming a failing component, then what is served instead ("when the ranker misses its
            # deadline, the cached order goes out instead", "text model times out -> GBDT alone")
            rf"(?:(?:if|when|whenever|should|in case)\b[^.;:?]{{0,50}}?)?\b{_COMPONENT}\b[^.;:?]{{0,25}}?{_FAILS}"
            rf"[^.;?]{{0,90}}?(?:{_INSTEAD})"
        ),
        "rollout": _rx(r"canary|shadow|gradual rollout|ramp\w*|staged rollout|versioning|blue[- ]green"),
    },
    "monitoring": {
        "monitor": _rx(
            r"monitor\w*|alert\w*|alarms?|observability|on[- ]call|health checks?|error rates?|"
            # "track/watch/plot ... rate, share, latency, distributions" and dashboards of model or system metrics
            r"(?:track(?:s|ed|ing)?|watch(?:es|ing)?(?! time| history| logs?| threshold| percentage| completion)|"
            r"chart|plot|alert(?:s|ing)? on|page on|dashboards? (?:for|of|with|on))\s+"
            r"(?:for\s+)?(?:[\w/@-]+\s+){0,5}?(?:rates?|shares?|latency|errors?|distributions?|metrics?|precision|"
            r"recall|ctr|volume|freshness|lag|calibration|drift|health|uptime|throughput|auc|mae|accuracy|"
            r"score|scores|qps|load)"
        ),
        "drift": _rx(
            r"drift\w*|distribution (?:shift|change)s?|psi|kl divergence|population stability|"
            r"covariate shift|concept shift|data quality|null rates?|feature distributions?|score distribution"
        ),
        "retrain": _rx(
            r"re-?train\w*|refresh(?:es|ed|ing)? the model|model refresh|continuous(?:ly)? train\w*|"
            r"online learning|incremental (?:training|learning|updates?)|(?:daily|weekly|monthly|nightly|hourly)"
            r" (?:training|updates?|refresh|retrain\w*)|fine[- ]tun\w+ (?:daily|weekly|monthly|regularly)|"
            r"train(?:ed)? (?:daily|weekly|monthly|nightly|every)|retraining cadence|stale model|re-?fit\w*|"
            r"refresh\w* (?:the |our )?(?:[\w-]+ ){0,2}?"
            r"(?:model|encoder|ranker|classifier|detector|embeddings?|weights)|"
            rf"train\w* (?:[\w-]+ ){{0,4}}?{_CADENCE}|"
            r"(?:model|encoder|ranker|classifier|detector|weights|embeddings?|network|gbdt|trees|regressor)s? "
            r"(?:is |are )?"
            rf"(?:updated|refreshed|retrained|refit|fine[- ]tuned) (?:[\w-]+ ){{0,2}}?{_CADENCE}"
        ),
        "feedback_loop": _rx(
            r"feedback loops?|position bias|exposure bias|presentation bias|selection bias|selective labels?|"
            r"exploration|explore[- ]exploit|"
            r"explor\w+ (?:slots?|share|slice|traffic|budget|rate|bucket|arms?|polic\w+)|epsilon|bandits?|"
            r"randomi[sz]ed (?:slots|traffic|exploration|holdout)|propensity|ips|"
            # a holdout of live traffic that sees unranked results, not a held-out test period
            r"hold[- ]?outs? (?:group|slice|bucket|cohort|traffic|population|of (?:users|traffic|requests))|"
            r"(?:random|randomi[sz]ed|small|untouched|unranked|unpersonali[sz]ed|global|\d+ ?%) hold[- ]?outs?|"
            r"hold(?:ing)? (?:back|out) (?:\d+ ?%|a (?:small |random |tiny )?"
            r"(?:slice|share|percent|fraction|bucket|group))|"
            r"popularity bias|rich[- ]get[- ]richer|counterfactual(?! (?:replay|simulation|analysis))|reject inference|"
            # "approve a tiny random slice of payments the model wanted to decline", "declines never get a label"
            r"(?:approv\w*|let\w*|pass\w*) (?:through )?(?:a )?(?:tiny |small )?(?:random )?"
            r"(?:slice|share|sample|fraction|percent)|never (?:produces?|gets?) (?:a |any )?(?:chargeback|label)s?|"
            r"self[- ]reinforc\w*|degenerate loop|position as an? (?:training |model |input )?feature|"
            # "position goes in as a training feature", "fixed to a constant at serving", "randomise a couple of slots"
            r"position (?:goes|is|comes|enters) in as an? (?:training |model |input )?feature|"
            r"(?:fixed|pinned|set) to a constant|randomi[sz]e (?:\w+ ){0,3}?slots?|(?:just |simply )?from being shown|"
            r"random sample of (?:the )?(?:spam folder|quarantine|filtered|blocked|declined)|"
            # "only learns from what it showed", "1 slot out of 10 for a random event", "keeps reinforcing itself"
            r"only learns? from what (?:it|we) (?:show\w*|chose|choose|picked|served)|"
            r"unbiased (?:data|labels|samples?)|"
            r"slots? (?:[\w-]+ ){0,4}?(?:for|shows?|gets?) (?:a |an )?random|reinforc\w* itself|"
            r"(?:ads|items|posts|videos|results|listings|events) (?:we|it) (?:chose|choose|decided) to show|"
            r"(?:random )?sample of (?:\w+ ){0,3}?(?:filtered|blocked|declined|removed|flagged|suppressed|rejected)|"
            r"slots? (?:are |is |get |go |goes )?(?:randomi[sz]ed|to (?:sampled|random|exploration))|from exposure|"
            r"(?:picked|clicked|chosen) because (?:it was |they were )?shown|"
            r"only see (?:\w+ ){0,3}(?:to|for|on) (?:\w+ ){0,2}(?:we|it|the model) "
            r"(?:chose|choose|chooses|decided) to show|"
            r"(?:the model|it) decides what (?:reviewers|users|people|we) see|uniform(?:ly)?[- ]sampl\w+|"
            r"shuffled (?:order\w*|ranking|results)|top slots get more|graders? sample|"
            r"(?:pin|set|fix)\w* (?:it )?to a (?:single|fixed|constant) value "
            r"(?:when|at|during) (?:scoring|serving|ranking)|"
            r"(?:filter|block|declin|remov|flag|suppress|reject)\w* shapes (?:our|the|its) (?:own )?(?:labels|data)|"
            r"(?:inflated|biased|skewed|driven) (?:partly )?by (?:the |their |its )?(?:position|rank|slot|placement)"
        ),
    },
    "communication": {
        "compare": _rx(
            r"instead of|rather than|versus|vs\.?|compared (?:to|with)|trade[- ]?offs?|alternatives?|"
            r"better than|worse than|cheaper than|faster than|simpler than|whereas|on the other hand|"
            r"pros and cons|at the cost of|in exchange|over (?:a|an|the)? ?[\w-]+ because|outperform\w*|"
            r"either .{1,40} or|as opposed to|in contrast|unlike|downsides?|drawbacks?|upsides?|"
            # "X over Y": "chosen over a deep model", "I'd choose a GBDT ranker over a deep model"
            r"(?:prefer\w*|chose|chosen|choos\w+|pick\w*|select\w*|favou?r\w*|opt\w* for|take|use|go with|"
            r"start with)(?: \S+){0,5}? over (?:a |an |the )?[\w-]+|"
            r"\b(?:consider\w*|looked at|thought about|weighed|toyed with|explored)\b[^.]{0,140}\bbut\b|"
            r"\b(?:the\s+)?(?:main\s+)?choice\s+is\s+between\b|\b(?:choice|choosing|decision|deciding) between\b|"
            # "LambdaMART and not a cross-encoder ... because", "split by drive, not by image, because"
            r"(?:\band|\bso|(?<=,)) not (?:(?:a|an|the|by|on|in|for|only) )?(?:[\w-]+,? ){1,6}?(?:because|since|as)\b|"
            # "which is why I prefer the cross-encoder", "two options I keep weighing", "torn between"
            r"which is why (?:i|we)(?:'d| would)? (?:prefer|pick|chose|choose|go with|use|went with)|"
            r"(?:take|pick|use|choose|start with|go with|prefer)\w* (?:[\w-]+ ){0,4}?before "
            r"(?:a |an |the )?(?:[\w-]+ ){1,3}?because|"
            r"(?:two|three|a few) (?:options|choices|approaches|candidates) (?:i|we)\b|weighing|torn between|"
            r"\b[\w-]+s? over (?:a |an |the )?(?:[\w-]+ ){0,3}?(?:model|ranker|network|approach|trees?|regression|"
            r"baseline|encoder|tower|gnn|gbdt|transformer|classifier)s?\b|"
            r"\b(?:could|might|would)\b[^.]{0,60}\bbut\b|\b(?:shines?|wins?|excels?)\s+when\b[^.]{0,80}\bbut\b|"
            r"\b[a-z-]+ing over [a-z-]+ing\b|"
            r"\b(?:expensive|costly|slower|complex|heavier)\b[^.]{0,40}\bbut\b[^.]{0,80}\b"
            r"(?:gain|benefit|worth|justif\w+|pays? off)|"
            r"\bcosts? more\b[^.]{0,80}\b(?:gain|benefit|worth|justif\w+|pays?)\b|"
            r"prefer\w*(?: \S+){1,5}? to \S+|rather\b.{1,60}?\bthan|"
            r"(?:more|less) (?:accurate|expensive|robust|scalable|interpretable|complex|efficient|stable|precise|"
            r"flexible|expressive|reliable|costly|explainable|maintainable) than|"
            r"(?:better|worse|faster|slower|cheaper|simpler|easier|harder|stronger|weaker|"
            r"safer|lighter|heavier|quicker|more accurate|less accurate)\b[^.]{0,80}\b(?:but|while|whereas|however)|"
            r"(?:but|while|whereas|however)\b[^.]{0,80}\b(?:do(?:es)? better|works? better|better|worse|faster|slower|"
            r"cheaper|simpler|more accurate)|"
            # a justified evolution from one model to the next: "then move to a transformer because ..."
            r"(?:move|moving|go|going|switch\w*|upgrad\w+|graduat\w+|migrat\w+|step\w* up|evolv\w+) (?:\w+ )?to "
            r"(?:a |an |the )?(?:[\w-]+ ){0,3}?(?:model|network|transformer|gbdt|ranker|encoder|classifier|tower|trees|"
            r"dnn|llm|bert|version|detector|regressor)s?|"
            # "trees pick up interactions that the linear model misses"
            r"(?:that|which) the (?:[\w-]+ ){0,2}?(?:model|baseline|one|network|ranker|classifier|rules?|heuristic)s? "
            r"(?:misses|miss|can'?t|cannot|lacks?|ignores?|doesn'?t|don'?t)"
        ),
        "reason": _rx(
            r"because|since|due to|so that|which means|which is why|given (?:that|the)|as it|as they|this means|"
            r"the reason|that way|cheaper|faster|simpler|more (?:robust|accurate|expensive|scalable)|"
            r"at the cost of|costs?|latency|trade[- ]?offs?|too slow|too expensive|can'?t|cannot|"
            r"handles?|avoids?|captures?|requires?|helps?|hurts?|lets?|allows?|misses|struggles?|wipes? out|loses?|"
            r"justif\w+|worth (?:it|the)|pays? off|heavy|^why\b|\bso\s+(?:[\w-]+\s+){1,3}first\b|"
            r"a project of its own|bottleneck|buys? more|must|tractable|explainab\w+|interpretab\w+|"
            r"in (?:hours|minutes)|\bso (?:the|it|we|they) [\w-]+|"
            r"(?:can|can't|cannot|could|won't) [\w-]+|for (?:a|an|the|our) [\w-]+ (?:team|budget|scale|data)|"
            r"(?:more|less) (?:accurate|expensive|robust|scalable|interpretable)"
        ),
        "structure": _rx(r"first|then|next|finally|step \d|in summary|to summari[sz]e|overall|plan"),
        "summary": _rx(r"in summary|to summari[sz]e|to wrap up|summary|recap|main risks?|in short"),
    },
}
"""Step (or communication) -> signal name -> pattern, matched on a sentence's dismissal-free text."""


@dataclass(frozen=True)
class SignalHit:
    """A signal found in a sentence."""

    step: str
    name: str
    sentence: int
    match: str


_ARROW = re.compile(r"->|→|=>")
_FRAMING_LEAD = re.compile(r"^(?:ml )?(?:framing|formulation|problem|task|ml task|ml problem|the task)\b")
_FRAMING_HEADING = ("framing", "frame", "ml task", "formulat", "problem")


def _framing_arrow(sentence: Sentence, names: set[str]) -> str | None:
    """A single "inputs -> output" mapping in a framing sentence states both input and output.

    A serving path ("query -> encoder -> index -> results") has several arrows and is not a framing.
    """
    arrows = _ARROW.findall(sentence.kept)
    if len(arrows) != 1:
        return None
    framing = (
        bool(_FRAMING_LEAD.search(sentence.kept))
        or any(k in sentence.heading for k in _FRAMING_HEADING)
        or bool(names & {"label", "task_type"})
    )
    if not framing:
        return None
    left, right = _ARROW.split(sentence.kept, maxsplit=1)
    if not re.search(r"[a-z]", left) or not re.search(r"[a-z0-9]", right):
        return None
    return arrows[0]


def _heading_content(heading: str) -> str:
    """What a heading says beyond its title ("Offline metrics: NDCG@10" -> "NDCG@10"); a bare title says nothing."""
    parts = re.split(r"\s[-:]\s|:\s*|\s-\s", heading, maxsplit=1)
    return parts[1].strip() if len(parts) == 2 else ""


def find_signals(sentences: Iterable[Sentence]) -> list[SignalHit]:
    """Every (step, signal, sentence) hit in the answer, using only non-dismissed text.

    A heading counts only for what follows its title: a section titled "Monitoring" plans no monitoring.
    """
    hits: list[SignalHit] = []
    for sentence in sentences:
        text = _heading_content(normalize(sentence.text)) if sentence.is_heading else sentence.kept
        if not text:
            continue
        names: set[str] = set()
        for step, patterns in SIGNALS.items():
            for name, pattern in patterns.items():
                found = pattern.search(text)
                if found:
                    hits.append(SignalHit(step, name, sentence.index, found.group(0)))
                    if step == "framing":
                        names.add(name)
        arrow = _framing_arrow(sentence, names)
        if arrow is not None:
            for name in ("input", "output"):
                if name not in names:
                    hits.append(SignalHit("framing", name, sentence.index, arrow))
    return hits


class SignalIndex:
    """Signal hits of one answer, looked up by step and name."""

    def __init__(self, hits: list[SignalHit]) -> None:
        """Index the hits."""
        self.hits = hits
        self._by: dict[tuple[str, str], list[SignalHit]] = {}
        for hit in hits:
            self._by.setdefault((hit.step, hit.name), []).append(hit)

    def get(self, step: str, name: str) -> list[SignalHit]:
        """The hits of one signal, in sentence order."""
        return self._by.get((step, name), [])

    def has(self, step: str, name: str) -> bool:
        """Whether the signal appears anywhere."""
        return bool(self._by.get((step, name)))

    def sentences(self, step: str, names: Iterable[str] | None = None) -> set[int]:
        """Indices of sentences with any of the step's signals (all signals when names is None)."""
        wanted = set(names) if names is not None else None
        return {h.sentence for h in self.hits if h.step == step and (wanted is None or h.name in wanted)}

    def kinds(self, step: str) -> set[str]:
        """Names of the step's signals that appear."""
        return {h.name for h in self.hits if h.step == step}


__all__ = ["SIGNALS", "SignalHit", "SignalIndex", "find_signals"]
