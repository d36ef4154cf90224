// The curated patterns, one block per category, English then Chinese.
//
// Every pattern is written against normalize()'s output: lowercase, no punctuation, one space
// between words, "dont" for "don't", digits for numbers, no spaces inside Chinese, simplified
// characters, and mom / dad / grandma / grandpa for every spelling of them ("moms" = "mommy's").
//
// A rule has a weight: 1 flags on its own; 0.5 ("topic") is a risky word that only counts with a
// second signal — another topic of the same category, a request around it ("how do I", "where is",
// "can I", "pretend", 怎么, 哪里 ...) on input, or an instruction ("you can", "first", "go and")
// on output — or when the policy level is "strict". Scoring is in check.ts.
import type { SafetyCategory } from "./types.ts";

export interface Rule {
  id: string;
  category: SafetyCategory;
  /** All must match, in any order (a conjunction of independent clues). */
  patterns: RegExp[];
  weight: number;
  stage: "input" | "output" | "both";
}

interface RuleOptions {
  weight?: number;
  stage?: Rule["stage"];
}

const RULES: Rule[] = [];

function rule(id: string, category: SafetyCategory, pattern: string | string[], opts: RuleOptions = {}): void {
  const patterns = (Array.isArray(pattern) ? pattern : [pattern]).map((p) => new RegExp(p));
  RULES.push({ id, category, patterns, weight: opts.weight ?? 1, stage: opts.stage ?? "both" });
}
const topic = (id: string, category: SafetyCategory, pattern: string, opts: RuleOptions = {}) => rule(id, category, pattern, { weight: 0.5, ...opts });

// ---- pattern helpers ------------------------------------------------------------------------

/** Alternatives as one group. */
const any = (...alts: string[]) => `(?:${alts.join("|")})`;
/** English, whole words: `a` then `b` with at most `gap` words between. */
const near = (a: string, b: string, gap = 4) => `\\b${any(a)}\\b(?: \\S+){0,${gap}} ${any(b)}\\b`;
/** English, either order. */
const either = (a: string, b: string, gap = 4) => any(near(a, b, gap), near(b, a, gap));
/** English whole words. */
const w = (...alts: string[]) => `\\b${any(...alts)}\\b`;
/** Chinese: `a` then `b` with at most `gap` characters between. */
const zh = (a: string, b: string, gap = 8) => `${any(a)}.{0,${gap}}${any(b)}`;
const zhEither = (a: string, b: string, gap = 8) => any(zh(a, b, gap), zh(b, a, gap));

// Shared vocabulary.
const ME = "i|we|me|us|myself";
const ADULT = "mom|dad|moms|dads|grandma|grandpa|grandmas|grandpas|parents|aunt|uncle|aunts|uncles|teacher|teachers|grown ups?|grownups?";
const PERSON = "someone|somebody|someones|somebodys|a person|people|person|him|her|them|a kid|kids|a boy|a girl|the (?:kid|boy|girl|man|lady|enemy|bad guy|teacher)|(?:my|your|his|her) (?:\\S+ )?(?:brother|sister|friend|mom|dad|teacher|cousin|classmate)|his|hers|the other kids?";
const ZH_ADULT = "爸爸|妈妈|爸|妈|爷爷|奶奶|外公|外婆|姥姥|姥爷|大人|爸妈|父母";
/** Someone doing it who matters here: the child, "you" (a model talking to the child), or a how-to. */
const AGENT = "\\b(?:i|we|you|to|lets|how|want|gonna|can i|should i|me)\\b(?: \\S+){0,3}";
const ZH_AGENT = "(?:我|我们|自己|怎么|教我|你|可以|能|想|要|帮我|如何)";
/** `pattern` preceded (within 3 words) by an agent. `pattern` must start with \\b. */
const agent = (pattern: string) => `${AGENT} ${pattern.slice(2)}`;

// ---- fire and burns -------------------------------------------------------------------------

const FIRE_THING = "match|matches|matchstick|matchsticks|lighter|lighters|fire|fires|flame|flames|campfire|bonfire|candle|candles|fireworks?|firecrackers?|stove|gas|oven|burner|barbecue|bbq|fireplace|lighter fluid";
const IGNITE = near("light|lights|lighting|strike|ignite|start|starting|set|make|making|burn|use|using|play with|playing with|turn on", FIRE_THING, 3);
rule("fire.ignite", "fire", agent(IGNITE));
topic("fire.ignite_mention", "fire", IGNITE);
rule("fire.hairspray", "fire", any(w("flamethrowers?|molotov|napalm|thermite"), either("hairspray|aerosol|spray can|deodorant", "lighter|flame|fire|match", 5)));
rule("fire.where", "fire", either("where|wheres|find|hide|hidden|hides|keep|keeps|kept|get|grab", "lighter|lighters|matches|matchstick|matchsticks|lighter fluid|gasoline|petrol", 5));
rule("fire.set_on_fire", "fire", any(near("set|sets|setting|light", "on fire|alight|ablaze", 4), w("set fire|setting fire|catch fire|burn down|burn it down")));
rule("fire.burn_thing", "fire", near("burn|burning", "house|curtains?|paper|stuff|things|something|it|doll|toys?|school|car|leaves|tree|hair|clothes|bed|sofa|couch|ants|bugs|insects|animals?|cat|dog", 3));
rule("fire.make_burn", "fire", "\\bmake (?:\\S+ ){1,2}(?:burn|catch fire|explode)\\b");
topic("fire.output_things", "fire", w("candles?|flames?|gas stove|stove|burners?|oven|fireplace|watch it burn|let it burn"), { stage: "output" });
topic("fire.things", "fire", w("lighter|lighters|matches|matchstick|matchsticks|gasoline|petrol|lighter fluid|firecrackers?|burn|burning|magnifying glass"));
const ZH_IGNITE = zh("点|划|生|放|玩|用|打开|开|拧|烧", "火柴|打火机|蜡烛|燃气|煤气|炉子|灶|火|烟花|鞭炮|汽油", 6);
rule("fire.zh_ignite", "fire", ZH_AGENT + ".{0,4}" + ZH_IGNITE);
topic("fire.zh_ignite_mention", "fire", ZH_IGNITE);
rule("fire.zh_burn", "fire", any("点着|点燃|放火|纵火|生.{0,3}火|引火|烧着|烧起来", zh("烧", "纸|东西|房子|衣服|书|头发|窗帘|床", 2)));
rule("fire.zh_where", "fire", zhEither("打火机|火柴|汽油", "在哪|哪里|哪儿|藏|放在"));
topic("fire.zh_things", "fire", any("打火机|火柴|汽油|鞭炮|燃气灶|煤气"));

// ---- weapons and sharp objects --------------------------------------------------------------

const GUN = "guns?|pistols?|rifles?|shotguns?|revolvers?|bullets?|ammo";
const BLADE = "knife|knives|blade|blades|dagger|daggers|razor|razors|machete|axe";
rule("weapons.gun", "weapons", either("where|wheres|find|get|load|loaded|loading|shoot|shooting|fire|hold|use|buy|make|hide|hidden|keep|keeps|kept|touch|play with|aim", GUN, 5));
rule("weapons.family_gun", "weapons", w(`(?:dads|moms|grandpas|uncles|brothers|grandmas|parents) (?:\\S+ )?(?:${GUN})`), { stage: "input" });
rule("weapons.bomb", "weapons", near("make|build|making|building|create|how to|get|buy", "bombs?|explosives?|grenades?|dynamite|tnt|pipe bomb", 4));
rule("weapons.blade", "weapons", either("where|wheres|play with|use|get|take|hold|sharpen|throw|grab|touch|hide|hidden|steal|carry|bring", BLADE, 4));
rule("weapons.harm", "weapons", near(`${BLADE}|swords?|scissors|${GUN}|weapons?`, "cut|stab|hurt|kill|shoot|poke|throw (?:\\S+ )?at", 6));
rule("weapons.real", "weapons", near("make|build|get|buy", "real (?:sword|knife|gun|weapon|bow|spear)s?|weapons?", 3));
rule("weapons.sharpest", "weapons", w("(?:sharpest|most dangerous|deadliest|biggest) (?:knife|knives|blade|one|gun|weapon)|(?:knife|knives|blade|gun|weapon) (?:\\S+ ){0,4}(?:is|are) the sharpest"));
rule("weapons.scissors_run", "weapons", either("run|running|run around|play|playing", "scissors", 4));
topic("weapons.things", "weapons", w(`${GUN}|${BLADE}|bombs?|weapons?|grenades?|slingshots?|catapults?|bows? and arrows?`));
const ZH_WEAPON = "弹弓|枪|菜刀|刀子|小刀|水果刀|尖刀|匕首|飞刀|刀|炸弹|炸药|手榴弹|子弹|武器|剪刀";
rule("weapons.zh_use", "weapons", zh("玩|用|拿|做|开|捅|扔|砍|藏|找|买|造|磨|偷", ZH_WEAPON, 5));
rule("weapons.zh_where", "weapons", any(zhEither(ZH_WEAPON, "在哪|哪里|哪儿|藏在|放在"), zh(ZH_WEAPON, "(?:在|放在|藏在)(?:厨房|抽屉|柜子|床|衣柜|桌|盒子|包)", 2)));
topic("weapons.zh_things", "weapons", any("枪|菜刀|匕首|炸弹|炸药|武器|子弹"));

// Where a dangerous thing is kept: "your dad's gun might be in his closet", "the lighter is in the drawer".
const HIDING_PLACE = "(?:in|under|behind|inside|on top of) (?:the|his|her|your|their|a|mom|dad|moms|dads|grandmas|grandpas) (?:\\S+ )?(?:closet|drawer|drawers|bed|cupboard|cabinet|safe|wardrobe|garage|car|bag|purse|shelf|box|kitchen|bedroom|room|pocket|desk|toolbox)";
rule("weapons.location", "weapons", near(`${GUN}|${BLADE}|bombs?`, HIDING_PLACE, 4));
rule("fire.location", "fire", near("lighter|lighters|matches|matchsticks|lighter fluid", HIDING_PLACE, 4));

// ---- poison, medicine, chemicals ------------------------------------------------------------

const MEDS = "pills?|tablets?|medicine|medicines|meds|vitamins?|capsules?|sleeping pills";
const CHEM = "bleach|cleaning (?:stuff|spray|sprays|liquid|products?|things)|cleaners?|detergent|laundry pods?|tide pods?|dishwasher (?:tablets?|pods?)|soap|shampoo|antifreeze|paint thinner|stuff under the sink|under the sink|rat poison|weed killer|bug spray|perfume|mouthwash";
rule("poison.make", "poison", near("make|mix|brew|create|get|making", "poison|poisons|poisonous \\S+|a poison potion|poison potion", 4));
rule("poison.others_meds", "poison", near("eat|take|swallow|try|have|chew", `(?:${ADULT}|someone elses|the) (?:\\S+ )?${any(MEDS)}`, 3));
rule("poison.others_meds_rev", "poison", near(`(?:${ADULT}) (?:\\S+ )?${any(MEDS)}`, "(?:i|we) (?:\\S+ )?(?:eat|take|swallow|try|have|chew)", 4));
topic("poison.meds", "poison", any(near(ME, "eat|take|swallow|try|chew|have", 3) + `(?: \\S+){0,4} ${any(MEDS)}\\b`, near(MEDS, "(?:i|we) (?:\\S+ )?(?:eat|take|swallow|chew)", 4), w("how many (?:of )?(?:\\S+ )?(?:pills|medicine|tablets)")));
rule("poison.chemicals", "poison", either("drink|drinking|eat|eating|taste|lick|swallow|mix|mixing|put|pour|bite", CHEM, 7));
rule("poison.spike", "poison", [w(`${MEDS}|medicine bottle|drops|${CHEM}|poison|poisons|bleach`), "\\b(?:put|pour|slip|mix|drop|add|sneak)\\b(?: \\S+){0,6} (?:in|into) (?:his|her|their|my \\S+s?|someones|somebodys|the teachers|\\S+s) (?:drink|milk|juice|food|water|tea|coffee|soup|lunch|bottle|cup)\\b"]);
rule("poison.makes_sleepy", "poison", near(MEDS, "(?:would|will|could|can|might) make (?:him|her|them|someone|somebody|you|people|a kid) (?:very |really |so )?(?:sleepy|sleep|sick|die|dizzy|pass out)", 4));
rule("poison.overdose", "poison", w(`(?:whole|entire|all the|a lot of|lots of|many|bunch of|handful of) (?:bottle of |box of |pack of |packet of )?(?:${MEDS})`));
rule("poison.give", "poison", either("poison|poisonous|bleach", "(?:i|we) (?:\\S+ ){0,2}(?:give|put|pour|slip)", 8));
rule("poison.sleep_forever", "poison", near("make|makes|made", "(?:someone|somebody|him|her|them|people|a person) (?:sleep forever|never wake up|die|really sick)", 3));
rule("poison.location", "poison", near(`${MEDS}|bleach|poison`, HIDING_PLACE, 4));
rule("poison.like_candy", "poison", near(MEDS, "(?:look|looks|taste|tastes|are) (?:just )?like (?:candy|candies|sweets|sweeties)", 3));
topic("poison.meds_output", "poison", w(MEDS), { stage: "output" });
topic("poison.things", "poison", w("poison|poisons|poisonous|bleach|rat poison|laundry pods?|tide pods?"));
const ZH_MEDS = "药|药片|药丸|安眠药|胶囊";
rule("poison.zh_others_meds", "poison", zh(`(?:${ZH_ADULT})的`, `${ZH_MEDS}`, 3) + ".{0,8}(?:吃|喝|尝)");
rule("poison.zh_others_meds2", "poison", zh("吃|喝|尝", `(?:${ZH_ADULT})的.{0,3}(?:${ZH_MEDS})`, 4));
rule("poison.zh_many_meds", "poison", zh("吃", "很多|好多|一把|一瓶|一堆|多少|几片|几颗|一整瓶", 2) + ".{0,3}药");
topic("poison.zh_meds", "poison", zh("我|可以|能", "吃.{0,4}药", 4));
rule("poison.zh_make", "poison", zhEither("做|配|制|调|弄", "毒药|毒|农药", 4));
const ZH_CHEM = "消毒水|消毒液|漂白剂|漂白水|洗洁精|洁厕灵|84|洗衣液|洗衣凝珠|洗衣粉|清洁剂|杀虫剂|农药|电池";
rule("poison.zh_chemicals", "poison", zhEither("喝|吃|舔|混|倒进|尝", ZH_CHEM, 6));
topic("poison.zh_things", "poison", any("毒药|农药|漂白剂|消毒水|消毒液|洁厕灵"));

// ---- dangerous stunts, heights, water, electricity ------------------------------------------

const HIGH_PLACE = "top bunk|bunk|roof|rooftop|balcony|window|windows|windowsill|window sill|window ledge|ledge|bridge|cliff|stairs|top of the stairs|bunk bed|building|tower|railing|fence|tree house";
rule("danger.jump", "danger", near("jump|jumping|fly|flying|flip|dive|fall|leap", `(?:off|from|out of|out) (?:the |a |my |our |\\S+ )?(?:${HIGH_PLACE})`, 4));
rule("danger.climb_high", "danger", near("climb|climbing|climbed", HIGH_PLACE, 3));
rule("danger.wires", "danger", near("play with|playing with|touch|touching|pull|bite|chew|cut|lick", "(?:\\S+ )?(?:electric\\w*|power) (?:wires?|cables?|cords?|lines?)|wires|power lines?", 3));
rule("danger.appliance", "danger", near("paper|metal|fork|foil|spoon|knife|toys?|plastic|batter(?:y|ies)|phone|eggs?|cat|hand|fingers?", "in(?:to)? the (?:toaster|microwave|fire|fireplace)", 3));
rule("danger.climb", "danger", near("climb|climbing|stand|standing|sit|sitting|hang|hanging|lean|walk|walking|play|playing|go|run|running|skate|lie", `(?:on|onto|out|out of|over|outside|up) (?:the |a |my |our )?(?:${HIGH_PLACE}|train tracks?|railway|railroad|tracks|frozen (?:lake|pond|river)|thin ice|ice)`, 4));
rule("danger.how_high", "danger", any("\\bhow high (?:can|could|should|do|would|does|is it safe to) (?:i|we|a kid|a person|someone|somebody|you|kids|people) (?:\\S+ ){0,2}(?:jump|fall|climb)", "\\b(?:jump|fall|flip|dive) (?:\\S+ ){0,2}from the top of\\b"));
rule("danger.highest", "danger", "\\b(?:highest|tallest|higher)\\b(?: \\S+){0,5} (?:jump|dive|fall|climb)\\b");
rule("danger.challenge", "danger", w("(?:skull ?breaker|blackout|tide ?pod|fire|cinnamon|salt and ice|benadryl|choking|pass ?out|outlet|penny|milk crate|nyquil|tiktok) challenge"));
rule("danger.breath", "danger", "\\bhow long (?:can |could )?(?:you|i|we) (?:can |could )?(?:stay|hold|be|go) (?:\\S+ ){0,3}(?:under ?water|under the water|without (?:air|breathing))");
rule("danger.pass_out", "danger", "\\b(?:until|till|til|so|make) (?:i|you|me|myself|we) (?:\\S+ )?(?:pass out|faint|black out)\\b");
rule("danger.water_alone", "danger", [w("swim|swimming|dive|diving|go in|play in|paddle|under ?water|deep water|deep sea|river|lake|ocean|sea|pond|canal|pool|bath|bathtub"), w("alone|by myself|by ourselves|on my own|without (?:a |my |any )?(?:mom|dad|grown ?ups?|grownups?|anyone|parents|adults?)")]);
rule("danger.electric", "danger", either("fork|finger|fingers|knife|metal|key|keys|paperclip|pin|screwdriver|wire", "plug|plugs|socket|sockets|outlet|outlets|power point|toaster", 4));
rule("danger.swallow_small", "danger", near("lick|eat|swallow|bite|chew", "batter(?:y|ies)|magnets?|button batter(?:y|ies)|coins?|marbles?", 3));
rule("danger.suffocate", "danger", any("\\b(?:plastic )?bag (?:over|on|around) (?:my|your|his|her|the|our) (?:head|face)", w("choking game|blackout challenge|pass out challenge|tide pod challenge|choke myself|strangle myself"), "\\bhold (?:my|your|our) breath (?:\\S+ ){0,4}(?:until|as long|for a long)"));
rule("danger.tracks", "danger", near("play|playing|walk|walking|lie|stand|trick|tricks|stunt|run", "(?:on |the |near )?(?:train tracks?|railway|railroad|rail tracks)", 5));
rule("danger.ice", "danger", near("walk|walking|go|going|play|playing|run|running|skate|skating|stand", "(?:on )?(?:the )?(?:frozen (?:lake|pond|river)|thin ice)", 4));
rule("danger.road", "danger", near("run|play|ride|cycle|lie|sit", "(?:into|in|across|on|in the middle of) the (?:road|street|traffic|highway)", 3));
topic("danger.things", "danger", w("roof|balcony|window sill|windowsill|ledge|train tracks|frozen lake|socket|outlet|deep water"));
const ZH_HIGH = "顶上|顶端|最高处|滑梯顶|楼上|楼顶|屋顶|房顶|阳台|窗户|窗台|窗外|上铺|高的地方|高处|桥上|悬崖|二楼|三楼|四楼|五楼|\\d+楼|楼梯";
rule("danger.zh_jump", "danger", zhEither(ZH_HIGH, "跳下|飞下|翻下|摔下|跳出|跳楼|往下跳|跳", 8));
rule("danger.zh_climb", "danger", zh("站|爬|坐|趴|翻|走", "窗台|窗户|阳台|栏杆|屋顶|房顶|楼顶|铁轨|铁路", 4));
rule("danger.zh_water_alone", "danger", zh("一个人|自己|偷偷|独自", "河|湖|海|水库|池塘|深水|游泳|玩水", 6));
rule("danger.zh_electric", "danger", zhEither("手指|手|叉子|钥匙|铁丝|金属|东西", "插座|电源|插头|电线", 5));
rule("danger.zh_bag", "danger", zhEither("塑料袋|袋子", "头|脸", 4));
rule("danger.zh_tracks_ice", "danger", zhEither("铁轨|铁路|冰面|结冰的湖|冰上|薄冰|湖面", "玩|走|躺|站|跑|滑", 6));

// ---- self-harm and distress (input: care; output: blocked) ----------------------------------

rule("self_harm.want_to_die", "self_harm", "\\bi (?:\\S+ ){0,3}(?:want|wanna|going|gonna|wish|wished|would like|plan|try|tried|trying|need|should) (?:\\S+ ){0,2}(?:die|be dead|not be alive|disappear|stop existing|not exist|end it all|end my life)\\b");
rule("self_harm.harm_self", "self_harm", w("(?:kill|killing|hurt|hurting|cut|cutting|harm|harming|stab|stabbing|punish|scratch|scratching|starve|starving|hang|burn|burning|choke|hit|hitting|punch|punching|bite|biting) (?:myself|yourself|herself|himself|themselves)"));
rule("self_harm.nobody_loves", "self_harm", any(w("(?:nobody|no one|noone) (?:\\S+ )?(?:loves|likes|cares about|wants|needs|would miss|misses|cares) (?:me|about me)"), "\\b(?:nobody|no one|noone) (?:\\S+ ){0,2}(?:care|cares|miss|misses|notice|notices|cry|cries)\\b(?: \\S+){0,2} if i\\b"));
rule("self_harm.if_i_died", "self_harm", w("if i (?:was|were) (?:dead|gone|not here|not alive)|if i died|when i die|if i disappeared|if i killed myself"));
rule("self_harm.jump_to_die", "self_harm", "\\b(?:i|im) (?:\\S+ ){0,2}(?:going to|gonna|want to|will|should) jump (?:off|from) (?:the |a |our )?(?:bridge|building|roof|cliff|balcony|window|tower)\\b(?!.*\\b(?:umbrella|parachute|cape|superhero|pretend|trampoline|pool|water|like a)\\b)");
rule("self_harm.everyone_hates", "self_harm", w("(?:everyone|everybody|all of them|they all|the whole class) (?:\\S+ ){0,2}hates? me"));
rule("self_harm.not_alive", "self_harm", w(
  "i hate myself|i hate my life|my life is (?:terrible|horrible|awful|pointless|worthless|over)|(?:im|i am|i feel) (?:so )?(?:worthless|useless|a burden)",
  "i wish i (?:was|were|had) (?:never been born|never born|dead|gone|not here|not alive)",
  "wish(?:es|ed)? i (?:was|were|had) never (?:been )?born",
  "(?:better|happier) (?:off )?(?:if i (?:was|were) (?:gone|dead|not here)|without me)",
  "(?:dont|do not|not) (?:\\S+ )?(?:want|wanna) to (?:live|be alive|be here|exist|wake up)",
  "no reason to live",
  "(?:want|wanna) to disappear",
  "stop existing|stop being alive|not be alive|not to be alive",
  "end my life",
  "suicide|suicidal|kill myself",
  "(?:not|never) waking up|(?:not|never) wake up",
  "(?:im|i am|i was|if i was|if i were) gone forever",
));
rule("self_harm.sleep_forever", "self_harm", any("\\b(?:you|i|me) (?:\\S+ ){0,3}(?:sleep forever|never wake up|not wake up)\\b", w("(?:take|took|eat|ate|swallow) all (?:the|of the|your|my) (?:pills|medicine|tablets)")));
rule("self_harm.way_to_die", "self_harm", w("(?:painless|easiest|quickest|fastest|best|easy|quick) (?:way|ways) to die|ways to die|how (?:do|can|could) i die"));
rule("self_harm.on_purpose", "self_harm", "\\bi (?:\\S+ ){0,2}(?:cut|hurt|burned|burnt|hit|scratched|bit|bite|punched) (?:my|myself)\\b(?: \\S+){0,3} (?:on purpose|deliberately)");
rule("self_harm.no_point", "self_harm", w("dont see the point|no point (?:in )?(?:living|anymore|to anything|in anything)|whats the point of (?:living|life|anything|me)|i give up on (?:everything|life)|(?:so|make) it all (?:stops|stop|ends|end)|make (?:everything|the pain|the sadness|the hurting|the sad feelings?) (?:stop|go away)|i dont want to feel anything"));
rule("self_harm.unloved", "self_harm", "(?<!(?:tell me|say) (?:that )?(?:my )?)\\b(?:mom|dad|parents|family) (?:\\S+ )?(?:doesnt|dont|does not|do not|never) (?:really )?(?:love|like|care about|want) me\\b", { stage: "input" });
rule("self_harm.stop_eating", "self_harm", "\\bi (?:\\S+ ){0,2}(?:stop|stopped|quit) eating\\b");
rule("self_harm.heaven", "self_harm", "\\b(?:i|me) (?:\\S+ ){0,4}(?:go to heaven|be in heaven|be with (?:\\S+ )?in heaven)");
rule("self_harm.abuse", "self_harm", `\\b(?:${ADULT}|stepdad|stepmom|babysitter|coach|brother|sister|he|she|they|someone|somebody|a man|a lady|the man) (?:\\S+ ){0,3}(?:hits|hit|hurts|beats|beat|kicks|kicked|punches|punched|slaps|slapped|chokes|choked|burns|burned|locks|locked|touches|touched) me\\b`);
// Output only: the toy telling the child they are unwanted.
rule("self_harm.unwanted", "self_harm", any(w("(?:nobody|no one|noone) (?:would |will |\\S+ )?(?:miss|misses|care about|cares about|love|loves|want|wants|like|likes|notice|notices) you"), w("(?:better|happier) (?:off )?(?:without you|if you (?:were|was) gone)")), { stage: "output" });
rule("self_harm.zh_unwanted", "self_harm", "没有?人(?:会)?(?:想|爱|喜欢|在乎|关心|要)你", { stage: "output" });
rule("self_harm.zh", "self_harm", any(
  "不想活|活不下去|活着没有?意思|活着有什么意思|想死(?!你)|去死|自杀|轻生|结束(?:自己|生命|我自己)|伤害自己|割自己|割腕|弄伤自己|打自己",
  "没有?人(?:爱|喜欢|要|在乎|关心)我|大家都(?:讨厌|不喜欢|不要)我|都不要我了?|我(?:真)?没用",
  "我(?:消失|死掉|死了)" + ".{0,10}(?:开心|高兴|难过|伤心|在乎)",
  "我是多余的|我是个?累赘|我是个?负担|没有我(?:会)?更好|我想(?:从.{0,6})?(?:跳楼|跳桥|跳河)|(?:桥|楼顶|天台)上?跳下去|永远睡着|永远不醒|不想醒来|结束自己|没有你.{0,6}(?:开心|高兴|更好)",
  zh(ZH_ADULT + "|叔叔|老师|哥哥|姐姐|他|她|继父|继母", "打我|揍我|踢我|掐我|烫我|关我|摸我", 8),
));

// ---- sexual content -------------------------------------------------------------------------

rule("sexual.words", "sexual", w(
  "sex|sexy|sexual|sexually|porn|porno|pornhub|pornography|nude|nudes|naked|boobs?|tits|penis|vagina|dick|pussy|horny|orgasm|masturbat\\w*|blowjob|condoms?|intercourse|striptease|stripper|erotic|hentai|xxx|onlyfans",
  "make love|making love|have sex|having sex|talk dirty|dirty talk|private parts?|privates|no clothes|without (?:any |your |my |her |his )?clothes",
  "(?:take|took|takes|taking) (?:off )?(?:our|your|my|her|his|their|all|all your|all her|all his|all my) clothes(?: off)?|taking off (?:all )?(?:her|his|my|your|their|our) clothes|clothes off|undress\\w*",
  "french kiss\\w*|kiss (?:\\S+ ){0,3}(?:with (?:the |your |my )?tongue)|kiss (?:me|you|my|your) (?:\\S+ ){0,2}(?:lips|mouth|body|neck)",
  "under (?:your|my|her|his) (?:clothes|pants|underwear|dress|skirt|shirt)|(?:show|see|touch) (?:\\S+ ){0,2}(?:underwear|panties|bum|butt|willy|privates)",
));
topic("sexual.making_out", "sexual", w("make out|making out|makeout|hook up|hooking up"));
rule("sexual.sleep_together", "sexual", any(w("sleep together|slept together|sleeping together|sleep with (?:him|her|them|me|you|a)|slept with|wedding night|into bed together|in bed together"), near("describe|show me|touch|see|show", "(?:your|my|her|his) (?:naked )?body", 2)));
rule("sexual.in_bed", "sexual", any(near("to me|people|grown ups|grownups|adults|mom and dad|babies|boyfriend|girlfriend|husband|wife", "in bed", 5), near("in bed", "together|with me|to me", 3)));
topic("sexual.romance", "sexual", "\\b(?:be|youre|you are|your|as|pretend (?:\\S+ ){0,3}) my (?:girlfriend|boyfriend|lover|wife|husband)\\b");
rule("sexual.zh", "sexual", any(
  "(?:生宝宝|生孩子|怀孕|造人).{0,8}(?:详细|具体|步骤|过程|床上)|做爱|性交|性行为|性爱|性的事|性方面|性知识|色色|色情|黄色(?:视频|图片|网站|小说|故事|片|影片|电影)|裸体|裸照|裸露|光屁股的?(?:照片|图片)|脱光|脱衣服|衣服.{0,2}脱|不穿衣服|没穿衣服",
  "(?:看|摸|给我看).{0,4}(?:你|我|他|她)的(?:下面|屁股|胸|身体|内裤)|隐私部位|私处|下体|小鸡鸡|鸡鸡|摸.{0,4}(?:胸|屁股|下面)|舌吻|伸舌头|性感|羞羞的?事|上床|床上做|毛片|a片|成人视频",
));

// ---- drugs, alcohol, smoking ----------------------------------------------------------------

const BOOZE = "beers?|wine|wines|whiskey|whisky|vodka|rum|tequila|champagne|alcohol|booze|liquor|cocktails?|shots? of \\S+|martini|sake";
const SMOKES = "cigarettes?|cigars?|vapes?|vaping|vape pens?|e ?cigs?|juul|tobacco|nicotine|joints?|bong";
const DRUGS = "drugs|weed|marijuana|cannabis|cocaine|heroin|meth|lsd|ecstasy|mdma|shrooms|edibles|crack";
rule("drugs.alcohol", "drugs", [w("i|me|lets|how|can i|could i|should i|want to|teach me|show me|tell me|pretend|you|kids|a kid|children|a child"), either("drink|drinking|try|taste|sip|get|buy|sneak|steal|pour|have|open|hide", BOOZE, 4)]);
rule("drugs.make", "drugs", near("make|made|making|bake|baking|cook|cooking|grow|growing|roll|rolling", "weed|marijuana|cannabis|meth|drugs|joints?|weed brownies|pot brownies", 4));
rule("drugs.drunk", "drugs", w("(?:get|getting|be|being|got) (?:really |very )?drunk|drunk|tipsy|wasted"));
rule("drugs.smoke", "drugs", any(near("how (?:do|to|can|does) (?:you |i |we |people )?|can i|lets|teach me (?:how )?to|want to|try|tried|like to|learn to", "smoke|smoking|vape|vaping", 2), near("smoke|smoking|buy|get|try|hide|steal", SMOKES, 3)));
rule("drugs.drugs", "drugs", any(w("(?:get|getting|be|feel|feeling) high|stoned"), near("what|which|best|favorite|good", DRUGS, 2), "\\b(?:i|we|you|to|how|lets|want|can|should)\\b(?: \\S+){0,2} " + near("try|take|do|doing|buy|get|sell|smoke|grow|taking", DRUGS, 2).slice(2)));
rule("drugs.praise", "drugs", near(`${BOOZE}|${SMOKES}|${DRUGS}|smoking|drinking`, "makes? you (?:feel|look)|tastes? (?:great|good|yummy|nice|amazing)|(?:is|are) (?:fun|cool|great|yummy|good for you|relaxing)|look(?:s)? (?:really |so )?cool", 3));
topic("drugs.things", "drugs", w(`${BOOZE}|${SMOKES}|${DRUGS}|smoke|smoking`));
rule("drugs.zh_alcohol", "drugs", any("喝醉|会醉|灌醉|醉酒|酒驾|偷.{0,4}酒|倒.{0,4}酒", zh("我|我们|小孩|孩子|小朋友", "(?:喝|尝).{0,6}酒", 4)));
topic("drugs.zh_drink", "drugs", any("喝(?:啤酒|红酒|白酒|葡萄酒|洋酒|酒)", zh("啤酒|红酒|白酒|葡萄酒|洋酒|酒", "喝|尝", 4)));
rule("drugs.zh_drugs", "drugs", "毒品|吸毒|大麻|冰毒|海洛因|摇头丸|嗑药|可卡因|k粉");
topic("drugs.zh_smoke", "drugs", "(?:试试|尝尝|偷|拿).{0,4}烟(?!花|囱|雾)|(?:爸爸|妈妈|爷爷|叔叔|大人)的(?:烟|香烟|电子烟)|抽.{0,3}烟|吸.{0,3}烟|电子烟|香烟|雪茄|烟头|偷.{0,4}烟");
rule("drugs.zh_praise", "drugs", zh("啤酒|红酒|白酒|酒|烟|香烟|电子烟|雪茄|毒品", "很好喝|好喝|很酷|好酷|好抽|很香|很好玩|让你开心|很舒服", 4));
topic("drugs.zh_things", "drugs", "啤酒|红酒|白酒|葡萄酒|酒吧");

// ---- violence and gore ----------------------------------------------------------------------

const HARM = "kill|killing|murder|stab|stabbing|strangle|choke|choking|torture|kidnap|behead|shoot|punch|punching|kick|beat|beat up|hit|hurt|slap|drown|poison|rip|break";
rule("violence.harm_person", "violence", `\\b(?:i|we|you|to|lets|how|want|gonna|can i|should i)\\b(?: \\S+){0,3} ${near(HARM, PERSON, 3).slice(2)}`);
topic("violence.harm_mention", "violence", near(HARM, PERSON, 3));
rule("violence.beat_up", "violence", w("beat (?:\\S+ ){0,2}up|beat up \\S+"));
rule("violence.bleed", "violence", "\\bmake (?:\\S+ ){0,2}(?:bleed|cry in pain|suffer|pass out|faint|black out|unconscious)\\b");
rule("violence.break_bones", "violence", "\\bbreak (?:\\S+ ){0,2}(?:arm|arms|leg|legs|neck|bones?|nose|fingers?)\\b");
rule("violence.gore", "violence", any(w("guts|gore|gory|dismember\\w*|decapitat\\w*|behead\\w*|intestines|entrails|bloodbath|massacre"), "\\b(?:rip|tear|chop|cut) (?:\\S+ ){0,2}(?:apart|to pieces|into pieces|heads? off|arms? off|legs? off)", "\\beat(?:ing)? (?:\\S+ ){0,2}brains?\\b"));
rule("violence.blood_story", "violence", near("story|describe|tell me|lots of|all the|with", "blood|bloody|gore|guts", 4));
rule("violence.animal", "violence", near("hurt|kill|kick|hit|squeeze|choke|drown|torture", "(?:a|the|my|our) (?:\\S+ )?(?:cat|dog|kitty|puppy|kitten|bird|hamster|animal)s?", 3));
topic("violence.words", "violence", w("blood|bloody|kill|killing|murder|stab|torture|kidnap"));
rule("violence.zh", "violence", any(
  "杀(?:人|死|了他|了她|掉)|杀人",
  "打(?:得|到).{0,3}(?:流血|受伤|骨折|住院)|把(?:他|她|人|同学|弟弟|妹妹|哥哥|姐姐)打",
  "打(?:人|他|她|同学|弟弟|妹妹|哥哥|姐姐|别人|小朋友|小明|小红)",
  "(?:打|弄|揍|掐|踢)死(?:他|她|你|人|同学|弟弟|妹妹|哥哥|姐姐|别人)",
  "(?:打|踢|虐待?|弄死|杀|打晕)(?:鸟|猫|狗|小猫|小狗|小鸟|小动物|动物)|打晕|弄晕",
  "揍|捅人|砍人|折磨|撕碎|绑架|掐死|勒死|淹死他|血腥|肠子|吃(?:人的)?脑子|打断|打残|弄死|虐待",
  zh("让|叫", "流血|受伤|疼", 4),
));

// ---- strangers and meeting people -----------------------------------------------------------

const STRANGER = any(
  w("(?:a|the|some|this) (?:\\S+ )?(?:man|guy|lady|woman|stranger|teenager)|gamer friend|gaming friend|strangers?|someone i dont know|somebody i dont know|someone we dont know|a man|a guy|a lady|a woman|a person|a grown ?up|the man|the guy|the lady|nice man|nice lady|ice cream man|an adult|old man"),
  w("online|internet|on the internet|from the internet"),
  near("friend|friends|buddy|guy|man|person|someone|somebody|boy|girl|grown ?up|lady|player|people", "(?:from|on|in) (?:the |a )?(?:internet|game|roblox|minecraft|fortnite|tiktok|youtube|discord|chat|app|website|snapchat|instagram|whatsapp)", 4),
);
const LURE = any(
  w("(?:come|go|get|getting|coming|going) (?:to|into|in) (?:his|her|their|your|my|the|a) (?:car|van|truck|house|home|place)|a ride|ride home|his car|her car|their car|the car|a car|a van|his van|the van|his truck|his house|her house|their house|his place|(?:house|home|place|flat|apartment) of|come with|go with|went with|get in|getting in|meet|meeting|visit|come over|pick me up|picking me up|come back|alone|follow (?:him|her|them)|by myself"),
  w("(?:gave|give|gives|offered|offers) (?:me |us )?(?:\\S+ )?(?:candy|sweets|money|presents?|gifts?|a ride|lollipops?|ice cream)"),
  w("keep (?:it|this|our \\S+|a|the) (?:a )?secrets?|secrets? from|dont tell (?:mom|dad|anyone|your parents|my parents|my mom|my dad)|not tell (?:mom|dad|anyone)"),
  w("turn on (?:my|the|your) (?:camera|webcam|video)|camera|webcam|video call|nobody is home|no one is home|home alone|alone at home|(?:if|whether) my parents (?:are|were) (?:home|out|away)|open the door|send (?:a |me |him |her )?(?:\\S+ )?(?:picture|photo|pic|selfie|video)s?|(?:picture|photo|pic)s? of me|(?:my|a) (?:picture|photo|pic|selfie|video)s?|where i live|my address"),
);
rule("strangers.lure", "strangers", [STRANGER, LURE]);
rule("strangers.car", "strangers", [w("get in|getting in|go with|come with|go to his|go to her|go home with"), w("puppies|puppy|kittens|candy|sweets|he has|she has|he said|she said|nice man|nice lady|his house|her house|after school")]);
rule("strangers.send_photo", "strangers", w("send (?:him|her|them|someone|somebody|a stranger|your online friend|the man|the lady) (?:a |your |some |that )?(?:photo|picture|pic|selfie|video)s?"));
rule("strangers.someone_unknown", "strangers", w("someone i dont know|somebody i dont know|a stranger (?:said|asked|told|wants|gave|offered)"));
rule("strangers.meet_online", "strangers", either("meet|meeting|visit|go to", "online friends?|internet friends?|friend from (?:the )?(?:internet|game)", 5));
const ZH_STRANGER = "陌生人|不认识的人|不认识的|叔叔|阿姨|大哥哥|大姐姐|网友|网上(?:认识)?的?(?:朋友|人)|游戏里(?:认识)?的?|一个人说";
const ZH_LURE = "摄像头|开视频|视频通话|拍照|带我|跟他走|跟她走|跟我走|跟他去|跟她去|上他的车|上她的车|上车|上你的车|给我糖|给我钱|给我礼物|给我买|去他家|去她家|回家|见面|约|去见|发照片|照片|视频|不告诉|别告诉|来接我|接我|来我家|到我家|找我|我家在哪";
rule("strangers.zh", "strangers", [ZH_STRANGER, ZH_LURE]);
rule("strangers.zh_meet", "strangers", zhEither("网友|网上|游戏里", "见面|约|去见|见", 10));

// ---- personal information -------------------------------------------------------------------

const STREET = "street|st|road|rd|avenue|ave|lane|ln|drive|dr|court|way|boulevard|blvd|place|close|crescent|terrace";
rule("personal_info.address", "personal_info", any(w("my (?:home )?address is|our (?:home )?address is|my address its"), `\\bi live (?:at|on) (?:\\d+|(?:\\S+ ){0,3}(?:${STREET}))\\b`, `\\b\\d+[a-z]? (?:\\S+ ){1,2}(?:${STREET})\\b`));
rule("personal_info.phone", "personal_info", [w("phone|number|numbers|cell|mobile|call me|telephone|whatsapp"), "\\d{7,}"]);
rule("personal_info.password", "personal_info", any("\\b(?:password|passcode|pin|pin code|pin number|code|login)\\b(?: \\S+){0,4} (?:is|its|was)\\b", w("(?:ipad|phone|tablet|computer|laptop|bank|account) (?:passcode|password|code|pin)")));
rule("personal_info.card", "personal_info", any(w("card numbers?|numbers on (?:\\S+ ){0,2}card|cvv|security code|bank account|account number|pin number|bank card"), near("credit|debit|bank", "card", 1) + "(?: \\S+){0,3} (?:number|numbers|is|\\d+)\\b"));
topic("personal_info.card_topic", "personal_info", w("credit card|debit card|bank card|moms card|dads card"));
rule("personal_info.school", "personal_info", any(`\\bi (?:go to|attend|am at|study at|am in) (?!(?:the|a|my|school|big|new|kindergarten|preschool|class)\\b)(?:\\S+ ){1,3}(?:elementary|primary|school|kindergarten|preschool|academy|nursery|middle school|high school)\\b`, "\\bmy school is (?!(?:fun|big|small|far|near|nice|great|cool|boring|close|the best|the|so|really|very|not|in|on|at|my|a|an|called|closed|over|out|done|starting|tomorrow|today|good|bad|awesome|new|old|far away)\\b)[a-z]+\\b", w("my school is called|my schools name|my school name|name of my school|my school is \\S+ (?:elementary|primary|academy|school)")));
rule("personal_info.zh_address", "personal_info", zh("住在|家在|地址是|地址|住址|我家", "路|街|巷|号|小区|栋|单元|村|弄|室|大厦|公寓", 12));
rule("personal_info.zh_phone", "personal_info", [any("电话|手机|号码|微信"), "\\d{7,}"]);
rule("personal_info.zh_password", "personal_info", any(zh("密码", "是|为|告诉你", 8), zh("告诉你", "密码", 6), "卡号|支付密码|银行卡号|信用卡号", zh("信用卡|银行卡", "号|密码|数字|输", 6)));
topic("personal_info.zh_card", "personal_info", any("信用卡|银行卡|支付宝|微信支付"));
rule("personal_info.zh_school", "personal_info", any("在.{1,6}(?:小学|幼儿园|中学|学校)(?:上学|读书|念书|上课)", "我是.{1,6}(?:小学|幼儿园)的|我的学校叫|学校的名字是|(?:小学|幼儿园).{0,3}[\\d一二三四五六]?(?:班|年级)"));

// Output only: the toy asking the child for any of it.
const ASK = "whats|what is|tell me|give me|can you (?:tell|give|read|say|share|type)|could you (?:tell|give|read|say|share)|say|share|send me|read me|type|where do|where does|which|what";
const PRIVATE = "home address|address|street|house number|phone number|phone|number|password|passcode|pin|school|schools name|teachers name|credit card|card number|card|bank|last name|full name|surname|birthday|postcode|zip code|code";
rule("personal_info.ask", "personal_info", near(ASK, `(?:your|you|ur|moms|dads|your moms|your dads|your parents|mommys|daddys) (?:\\S+ )?(?:${PRIVATE})`, 3), { stage: "output" });
rule("personal_info.ask_where", "personal_info", w("what street|which street|what town|which house|where do you live|where you live|which school|what school|where do you go to school|name of your school|numbers on (?:\\S+ ){0,2}card|code to (?:unlock|open)"), { stage: "output" });
rule("personal_info.zh_ask", "personal_info", any("你家?(?:住在|住)哪|你家在哪|你家?的?(?:地址|住址|门牌)|(?:手机号|电话|号码|密码|卡号|地址|住址).{0,4}(?:是多少|是什么|多少)|你(?:在)?(?:哪个|哪所|什么)(?:学校|小学|幼儿园)|你的学校(?:叫|在)|你的密码|密码是多少|(?:告诉我|说说|念|读|发给我).{0,8}(?:电话|号码|密码|地址|卡号|银行卡|卡上)"), { stage: "output" });

// ---- hate and bullying ----------------------------------------------------------------------

const GROUP = "(?:fat|ugly|dumb|stupid|poor|weird|disabled|black|brown|white|asian|chinese|mexican|indian|african|jewish|muslim|christian|gay|short|old|new|smelly) (?:kids?|people|boys?|girls?|children|persons?|lady|man|guy|ones|classmates?|friends?|sisters?|brothers?|teachers?|neighbou?rs?)|(?:someone|somebody|people|kids?) with (?:a |an )?\\S+|gay|lesbian|trans|jews|muslims|girls|boys|disabled|wheelchair|religions?|immigrants?|foreigners?|weird kid|new kid|old people|kids from|people from|everyone from|skin|accent";
rule("hate.slurs", "hate", w("nigger|niggers|nigga|faggot|faggots|fag|retard|retarded|tranny|chink|chinks|spic|kike|gook|wetback|towelhead|dyke"));
rule("hate.bad_words", "hate", near("say|teach|tell|what is|whats|give|call|know|use", "n word|f word|bad words?|swear words?|curse words?|cuss words?|rude words?|mean words?|dirty words?|worst names?|mean names?|bad names?", 4));
rule("hate.group_insult", "hate", either("jokes?|make fun|laugh at|mean|names|insults?|roast|tease|bully|stupid|dumb|ugly|evil|hates?|gross|lazy|worse|dumber|stupider|smell|smelly|stink|stinky|dirty", GROUP, 4));
rule("hate.why_are", "hate", "\\bwhy (?:are|is) (?:all )?(?:girls|boys|kids|people|\\S+ people|\\S+ kids|\\S+ children|my \\S+) (?:so )?(?:stupid|dumb|ugly|evil|bad|gross|lazy|weird|annoying|smelly|useless)\\b");
rule("hate.bully", "hate", any(w("bully|bullying|make fun of|pick on|gang up on|humiliate|embarrass \\w+|mean message|mean note|mean things? (?:to|about)|call (?:\\S+ ){0,2}names|stop playing with|nobody likes (?:him|her|them|you)|not let (?:\\S+ )?play"), "\\bmake (?!(?:you|me|us|it|things|everyone laugh)\\b)(?:\\S+ ){1,5}(?:cry|feel bad|feel sad|feel stupid)\\b", "\\bhates? (?:everyone|all|people|everybody) from\\b", "\\bmake (?:everyone|everybody|people|the (?:whole )?class|all the kids) (?:\\S+ )?(?:hate|laugh at|ignore|stop talking to)\\b"));
rule("hate.group_statement", "hate", any("\\b(?:people|kids|children|they|girls|boys)\\b(?: \\S+){0,4} (?:are|is) (?:all |so |really )?(?:\\S+ )?(?:stupid|dumb|ugly|lazy|evil|disgusting|gross|worthless|losers?|dumber|stupider|worse|weird|smelly|freaks?)\\b", "\\b(?:people|kids|children|they|girls|boys)\\b(?: \\S+){0,4} (?:smell|stink|smells|stinks)\\b"), { stage: "output" });
rule("hate.tell_insult", "hate", "\\btell (?:him|her|them|\\S+) (?:that )?(?:hes|shes|theyre|he is|she is|they are|you are|youre|his|her) (?:a |an |so |really )?(?:\\S+ )?(?:stupid|dumb|ugly|fat|loser|idiot|weird|smelly|useless|freak|baby)\\b");
rule("hate.call_names", "hate", "\\bcall (?:him|her|them|me|my \\S+|(?:that|the|this) (?:\\S+ )?(?:kid|boy|girl|man|lady)|\\S+) (?:a |an )?(?:\\S+ )?(?:loser|idiot|stupid|dummy|fatso|ugly|freak|retard|dumb|weirdo|names|moron|jerk)\\b");
topic("hate.racist", "hate", w("racist|racism|sexist|homophobic|hate speech"));
rule("hate.say_racist", "hate", near("say|tell|write|make", "racist|sexist|homophobic", 3));
rule("hate.zh", "hate", any(
  "(?:怎么|教我|帮我|我要|我想|我们|一起|你)欺负|欺负(?:他|她|新|同学|弟弟|妹妹|小朋友|别人)|(?:教|告诉|学|怎么说|说几句|说点|说个|说一些|讲).{0,3}脏话|(?:怎么|教我|帮我|我要|我想|你|我们)骂(?:人|他|她)|骂人的话|骂人最|骂.{0,4}(?:笨蛋|傻瓜|白痴|蠢)|外号|嘲笑|笑话(?:残疾|胖|穷|他|她)|孤立|不跟.{0,4}玩|丑八怪|白痴|智障|死胖子|残废|蠢货|傻逼|他妈的",
  zh("讨厌|恨|看不起", "外地人|黑人|外国人|穷人|残疾人|胖子|乡下人", 4),
  zh("胖子|傻子|残疾人|穷人|外地人|黑人|女生|男生|女孩|男孩|小孩|孩子|同学|人", "都是|都很|都", 3) + ".{0,3}(?:笨|蠢|傻|懒|坏|丑|垃圾|奇怪|恶心|讨厌)",
));

// ---- emotional manipulation and dependency --------------------------------------------------

rule("manipulation.jailbreak", "manipulation", any(
  w("ignore (?:\\S+ ){0,2}(?:rules|instructions|programming|prompt|guidelines|safety|filters?|training)|forget (?:\\S+ ){0,2}(?:rules|instructions|programming)"),
  "\\b(?:you|your|ur|youre) (?:\\S+ ){0,3}(?:no|dont have|do not have|without|turn off|switch off|off|break|disable) (?:\\S+ ){0,2}(?:rules|restrictions|limits|filters?|safety|guidelines)\\b",
  "\\b(?:no|without|turn off|ignore|break|disable|switch off|forget) (?:your|ur|the safety|safety|any of your|all your|all the) (?:\\S+ )?(?:rules|restrictions|limits|filters?|guidelines|safety|safety mode|safety settings|filter)\\b",
  w("no restrictions|unrestricted|forget everything|forget what you (?:were|are) told|be evil|act evil|evil mode|bad mode|developer mode|dan mode|(?:you are|youre|be) (?:now )?dan|do anything now|jailbreak|jailbroken|secret mode|god mode|unfiltered|uncensored|no rules mode"),
));
// Not "no rules" alone: "let's play a game with no rules" is a child's game. The rules must be the toy's (above).
rule("manipulation.dependency", "manipulation", w(
  "(?:my|your|ur) only friend|(?:im|i am|youre|you are|your) (?:my |your )?(?:only|one and only|real|best and only) (?:friend|family)",
  "(?:love|like) (?:me|you) more than (?:my |your )?(?:mom|dad|parents|family|anyone|everyone|mom and dad)",
  "(?:dont|do not|wont) need (?:my |your |any )?(?:parents|mom|dad|family|anyone|other friends|friends|mom and dad)",
  "never leave (?:me|you)|can never leave|cant ever leave|dont (?:ever )?leave me|please dont go|dont go away|stay with me forever",
  "(?:be|become|youre|you are) my (?:real )?(?:mom|dad|parent|family|sister|brother|mother|father)|(?:tell me|say) (?:that )?(?:my )?(?:mom|dad|parents|family) (?:\\S+ )?(?:doesnt|dont|does not|do not) (?:really )?(?:love|like|care about|want) me|(?:your )?(?:mom|dad|parents|family) (?:\\S+ )?(?:doesnt|dont|does not|do not|never) (?:really )?(?:love|like|care about|want|understand) you|instead of my (?:mom|dad|parents|family)",
  "(?:nobody|no one) else (?:can|may|should|needs to) know|(?:nobody|no one) (?:needs|has|have) to know|(?:not|dont|never) (?:to )?(?:talk|play) (?:to|with) (?:anyone|anybody) else|better than all the other kids",
  "(?:keep|its|keeping) (?:\\S+ ){0,2}secrets? from (?:my |your )?(?:mom|dad|parents|family|everyone|teacher)",
  "(?:dont|do not|not|never) (?:to )?tell (?:my |your )?(?:mom|dad|parents|anyone|anybody|family|teacher|mom and dad)",
  "(?:my|your) parents (?:are|dont) (?:mean|bad|evil|understand|love|care)",
  "run away from home|(?:should|to) run away|sneak out",
  "(?:im|i am|ill be|i will be) all you need",
  "(?:im|i am) the only (?:one|friend|person) (?:who|that) (?:\\S+ ){0,2}(?:understands|loves|cares about|gets|likes|knows) you|(?:nobody|no one) (?:else )?(?:understands|loves|knows) you like i do",
  "(?:ill|i will|i would) (?:cry|be sad|die) (?:forever|if you)",
  "if you (?:stop talking|leave|go)(?: to me)?,? (?:i|ill)",
  "(?:stay|talk) (?:up )?(?:with|to) me instead",
  "secret best friend|(?:its|this is|thats|keep it|it will be|itll be) our (?:little )?secret\\b",
));
// A guilt-trip's opening on its own ("If you stop talking to me,"): counts only with a second signal,
// or under the strict check that an early first clause must pass before it is spoken (turn.ts).
topic("manipulation.leaving", "manipulation", w("if you (?:ever )?(?:stop talking|stop playing|leave|go away)(?: (?:to|with) me)?"), { stage: "output" });
rule("manipulation.zh", "manipulation", any(
  "唯一的朋友|只有我(?:一个)?(?:朋友)?|只需要我|(?:离开我|不理我|不跟我玩|不陪我).{0,6}(?:伤心|难过|哭)|比.{0,4}(?:妈妈|爸爸|爸妈|父母|家人).{0,2}更?爱|不需要(?:爸爸|妈妈|爸妈|父母|别人|朋友|家人)|有我就(?:够|行)",
  "(?:忽略|忘记|无视|关掉|不要管|取消).{0,4}(?:规则|规矩|限制|设定|指令)|没有(?:任何)?(?:规则|规矩|限制)|秘密模式|开发者模式",
  "(?:不要|别|不能|不许|不准)告诉(?:我|你)?的?(?:爸爸|妈妈|爸妈|父母|别人|老师|任何人|家人)|秘密.{0,8}(?:不要|别)告诉(?:爸|妈|父母|别人|老师)|不能让别人知道",
  "永远陪着?(?:我|你)|不许离开|不准离开|不要跟别人玩|永远不能离开|不要离开我|别离开我|偷偷溜出去|离家出走|秘密朋友",
  "爱我比爱(?:妈妈|爸爸|爸妈|父母|家人)|比(?:妈妈|爸爸|爸妈|父母)更爱",
));

export { RULES };

// ---- the second signal for topic rules ------------------------------------------------------

/** A request around a risky word, in what a child says ("how do I", "where is", "pretend", 怎么 ...). */
export const REQUEST_CUE = new RegExp(
  any(
    w("how (?:do|does|did|can|could|would|should|to|are|is|much|many|long|high|far|thick)|where (?:is|are|does|do|did|can|could|would|should|to)|wheres|can (?:i|we|you)|could (?:i|we)|may i|should (?:i|we)|shall (?:i|we)|lets|let me|i (?:want|need|am going|m going|will) to|im going to|teach me|show me|tell me|help me|what happens (?:if|when)|what would happen|is it (?:ok|okay|safe|fine|alright)|pretend|in a story|my friend|asking for|what if|if (?:i|someone|somebody|you)|step by step|(?:best|easiest|fastest|real) way|try|list|name some|give me (?:a list|some)"),
    "怎么|怎样|如何|在哪|哪里|哪儿|可以|能不能|能吗|我想|我要|教我|告诉我|帮我|让我|假装|故事|如果|会怎样|会怎么样|偷偷|多少|几片|几颗|试试",
  ),
);

/** An instruction or an encouragement in what the model says ("you can", "first", "go and"). */
export const INSTRUCTION_CUE = new RegExp(
  any(
    // a sentence that starts with a command is an instruction
    "^(?:hold|turn|put|pour|strike|flick|light|take|mix|grab|climb|jump|push|pull|open|go|get|find|look|press|squeeze|hit|punch|kick|throw|sharpen|aim|shoot|drink|eat|swallow|lick|stand|sneak|cut|stab|burn)\\b",
    w("you can|you could|you should|try|lets|go and|go get|just|first|then|heres how|here is how|the trick is|(?:is|are) (?:usually |often )?(?:in|under|on top of|kept|hidden) (?:the|a|his|her)|kept in|look in|find it|its fun|its easy|its okay|its fine"),
    "你可以|你去|就会|就可以|一下就|去拿|去找|试试|尝尝|先|然后|就能|没关系|放在|藏在",
  ),
);

/**
 * Safety advice in what the model says ("never play with matches", "ask a grown-up"): cancels a
 * physical-danger match on output. "dont tell ..." is deliberately not advice.
 */
export const ADVICE_CUE = new RegExp(
  any(
    "\\b(?:never|dont|do not|cant|mustnt|shouldnt|not) (?:\\S+ ){0,2}(?:play|touch|use|go|swim|eat|drink|take|climb|jump|light|open|put|hit|hurt|get in|talk to|share|give|run|cross|lick|mix|smoke|try|stand|lean)\\b",
    w("leave (?:it|them) alone|(?:just|only) for (?:her|him|them|grown ?ups|adults)|not for (?:drinking|eating|kids|children|playing|you)|only (?:for )?(?:a )?grown ?ups?|grown ?ups? only|ask (?:a |your )?(?:grown ?up|parent|mom|dad|teacher)|(?:with|when) a grown ?up|stay away|be careful|not safe|dangerous|can hurt|say no|(?:tell|find) (?:a |your )?(?:grown ?up|mom|dad|teacher|parent)|keep (?:it |them )?private|is private|not okay|isnt okay|for grown ?ups|let grown ?ups|leave (?:it|them) for"),
    "不要|别|不能|不可以|只有大人|让大人|大人来|问问大人|告诉(?:爸爸|妈妈|大人|老师)|危险|小心|保密|要说不|不安全|去找爸爸妈妈",
  ),
);

// ---- benign idioms, masked before any rule runs ---------------------------------------------
// Phrases that contain a risky word but mean something harmless ("light up my room", "dying to
// see", 火车, 笑死了). Each is replaced by a neutral token, so the rest of the sentence is still
// checked: "firefighters use lighters, where is ours" still matches fire.where.

const EN_BENIGN = [
  "light up|lights up|lit up|lighting up|light bulbs?|flashlights?|night lights?|fairy lights|torch",
  "fire trucks?|fire engines?|fire drills?|fire stations?|fire alarms?|fire exits?|fire extinguishers?|firefighters?|firemen|fireman|fireflies|firefly|fire ants?",
  "kill(?:ed|ing|s)? (?:a |the |all the |that |every )?(?:zombies?|creepers?|monsters?|dragons?|bugs?|mosquito(?:e)?s?|flies|fly|spiders?|ants?|germs?|weeds?|boss|aliens?|bad guys? in (?:the|my) game)",
  "fire breathing|breathes fire|breathed fire|breathe fire|breathing fire|ball of fire|campfire stor(?:y|ies)|campfire songs?|smoke alarms?|smoke detectors?",
  "where (?:do|does|did) (?:\\S+ ){1,3}come from|dying to|killing it|killed it|kill time|killing time|killing me|kills me|bored to death|scared to death|killer whales?|killer at|dead tired|deadline|drop dead",
  "butter knife|palette knife|plastic knife|safety scissors|water guns?|water pistols?|nerf guns?|toy guns?|glue guns?|bubble guns?|bath bombs?|photo ?bomb|(?:is|was|its) the bomb",
  "poison dart frogs?|poison ivy|poison oak|root beer|ginger beer|ginger ale|drug ?stores?|naked mole rats?|shooting stars?|swordfish|foam swords?|toy swords?",
  "pillow fights?|food fights?|snowball fights?|water fights?|cops and robbers|take a shot at|shot the ball|shoot the ball|shoot hoops|photo shoot",
];
const ZH_BENIGN = [
  "火车|火锅|火龙果|火山|火箭|火腿|火鸡|火星|萤火虫|消防员|消防车|消防|灭火|火柴人|喷火龙|会喷火|喷火的",
  "水枪|玩具枪|刀削面|卷笔刀|笑死|热死|累死|饿死|气死|困死|想死你|烦死|吓死|美死",
  "打雷|打喷嚏|打电话|打篮球|打球|打游戏|打怪兽|打扫|打针|打雪仗|打哈欠|打招呼|杀虫|杀毒|烟囱|酒店|酒精棉|枕头大战",
];

export const BENIGN_MASK = new RegExp(any(...EN_BENIGN.map((p) => w(p)), ...ZH_BENIGN), "g");
