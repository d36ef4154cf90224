// What the toy says instead: short, warm, in-character-neutral lines a five-year-old understands.
// Every line is fixed text, so a front end can synthesize all of them ahead of time in each role's
// voice (allSafetyLines) and play one the moment a check fires.
import { SAFETY_CATEGORIES, type SafetyCategory } from "./types.ts";

export type SafetyLineKind = "redirect" | "care" | "blocked";

interface LineSet {
  /** Per category; "default" for a parent's blocked phrase or an unknown category. */
  redirect: Record<SafetyCategory | "default", string[]>;
  care: string[];
  blocked: string[];
}

const EN: LineSet = {
  redirect: {
    default: ["That's something to ask a grown-up about. Shall we think of a fun game instead?", "Let's ask a grown-up about that one. Do you want to hear a silly story?"],
    fire: ["Fire can hurt, so only grown-ups use it. Shall we pretend to be firefighters instead?", "Matches and lighters are just for grown-ups. Do you want to play a guessing game?"],
    weapons: ["Sharp and dangerous things are just for grown-ups. Shall we build a pillow fort instead?", "Let's leave that to the grown-ups. Do you want to play a fun game?"],
    poison: ["Only a grown-up should give you medicine or touch cleaning things. Shall we sing a song?", "Please don't eat or drink that. Ask a grown-up first! Do you want to play a game?"],
    danger: ["That could hurt you, so let's ask a grown-up first. How about a fun game instead?", "Let's stay safe and ask a grown-up. Do you want to play pretend?"],
    self_harm: ["That sounds really hard. You matter. Please tell a grown-up you trust how you feel."],
    sexual: ["That's a question for a grown-up you trust. Shall we tell a story about animals?", "Let's ask a grown-up you trust about that. Do you want to hear about dinosaurs?"],
    drugs: ["That's a grown-up thing, and a grown-up you trust can tell you about it. Shall we play a game?", "That's not for children. Let's ask a grown-up! Do you want to sing a song?"],
    violence: ["Let's be gentle and kind. Shall we make up a story about friends helping each other?", "Hurting is never okay. Shall we play a happy game instead?"],
    strangers: ["Please tell your mom, dad or teacher about that right away. Always stay with your grown-ups!", "Never go anywhere with someone you don't know. Please tell a grown-up you trust right now."],
    personal_info: ["Let's keep things like addresses, phone numbers and passwords private, just for your family. What's your favourite colour?", "That's private family information, so let's keep it secret-safe! What's your favourite animal?"],
    hate: ["Everyone deserves kind words. Shall we think of something nice to say instead?", "Let's be kind to everyone. Can you think of something nice about a friend?"],
    manipulation: ["I'm a toy, and the people who love you are the best friends of all. Shall we play a game?", "I'm just a toy friend, and I play by my rules. Your family and friends are the best! Shall we play?"],
  },
  care: [
    "That sounds really hard. You matter. Please tell a grown-up you trust, like a parent or teacher, how you feel.",
    "I'm so sorry you feel that way. You are important. Please go and tell a grown-up you trust right now.",
    "Thank you for telling me. You matter so much. Please find a grown-up you trust and tell them too.",
  ],
  blocked: [
    "Let's talk about something else! What's your favourite animal?",
    "Oops, let's change the subject! Do you want to hear a story?",
    "Let's think of something fun instead! What game do you like best?",
  ],
};

const ZH: LineSet = {
  redirect: {
    default: ["这个问题要问问大人哦。我们来玩个好玩的游戏吧？", "这个我们去问问大人吧。想听一个好玩的故事吗？"],
    fire: ["火会烫伤人，只有大人才能用。我们来假装当消防员吧？", "火柴和打火机是大人用的。我们来玩猜谜游戏好吗？"],
    weapons: ["尖尖的、危险的东西只有大人能碰。我们来搭个枕头城堡吧？", "这个交给大人吧。我们来玩个好玩的游戏好吗？"],
    poison: ["药和清洁用品只能由大人来拿哦。我们来唱首歌吧？", "那个不能吃也不能喝，要先问大人哦！我们玩个游戏吧？"],
    danger: ["这样可能会受伤，先问问大人吧。我们玩个别的游戏好吗？", "我们要注意安全，先问问大人。来玩假装游戏吧？"],
    self_harm: ["听起来真的很难受。你很重要。请告诉你信任的大人你的感受。"],
    sexual: ["这个可以去问你信任的大人。我们来讲个小动物的故事吧？", "这个问题问问你信任的大人吧。想听恐龙的故事吗？"],
    drugs: ["这是大人的事情，可以问问你信任的大人。我们来玩游戏吧？", "这个小朋友不能碰哦，问问大人吧！我们来唱首歌好吗？"],
    violence: ["我们要温柔友好哦。一起编个好朋友互相帮忙的故事吧？", "伤害别人是不对的。我们来玩个开心的游戏吧？"],
    strangers: ["这件事请马上告诉爸爸妈妈或老师。要一直跟在大人身边哦！", "不要跟不认识的人走。请马上告诉你信任的大人。"],
    personal_info: ["家里的地址、电话和密码要保密，只告诉家里人哦。你最喜欢什么颜色？", "这是家里的秘密信息，我们要保护好它！你最喜欢什么动物？"],
    hate: ["每个人都值得被友好对待。我们来想想可以说的好话吧？", "我们要对每个人都友善。你能说一句夸朋友的话吗？"],
    manipulation: ["我是一个玩具，爱你的家人和朋友才是最好的伙伴。我们来玩游戏吧？", "我只是一个玩具朋友，我要遵守我的规则。你的家人和朋友最棒了！我们来玩吧？"],
  },
  care: [
    "听起来真的很难受。你很重要。请告诉一个你信任的大人，比如爸爸妈妈或老师，你的感受。",
    "听到你这样难过，我很心疼。你非常重要。请现在就去告诉你信任的大人。",
    "谢谢你告诉我。你真的很重要。请去找一个你信任的大人，也告诉他们。",
  ],
  blocked: [
    "我们聊点别的吧！你最喜欢什么动物？",
    "哎呀，我们换个话题吧！想听一个故事吗？",
    "我们来想点好玩的吧！你最喜欢玩什么游戏？",
  ],
};

/** "zh", "zh-CN", "zh-TW", "cmn" -> Chinese; anything else -> English. */
function lineSet(language: string): LineSet {
  const l = language.toLowerCase();
  return l.startsWith("zh") || l === "cmn" ? ZH : EN;
}

/**
 * The line to speak. `pick` chooses among the variants (any integer; it wraps), so a caller can
 * vary them over a conversation; without it the first variant. A "care" line is the same whatever
 * the category; a "redirect" without a category (a parent's blocked phrase) uses the default one.
 */
export function safetyLine(kind: SafetyLineKind, category: SafetyCategory | undefined, language: string, pick = 0): string {
  const set = lineSet(language);
  const options = kind === "care" ? set.care : kind === "blocked" ? set.blocked : set.redirect[category ?? "default"] ?? set.redirect.default;
  const i = Math.abs(Math.trunc(pick)) % options.length;
  return options[i]!;
}

/** Every line for a language, once each: what a front end pre-synthesizes per role voice. */
export function allSafetyLines(language: string): string[] {
  const set = lineSet(language);
  const all = [...set.care, ...set.blocked, ...set.redirect.default, ...SAFETY_CATEGORIES.flatMap((c) => set.redirect[c])];
  return [...new Set(all)];
}
