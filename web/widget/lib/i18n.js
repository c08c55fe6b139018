// UI strings in English and Russian; the language comes from the host page
// (widget) or the browser (console). Unknown languages fall back to English.

const STRINGS = {
  en: {
    title: 'Chat with us',
    greeting: 'Hello! How can we help you? Ask us anything — we usually reply within a few minutes.',
    online: 'We are online',
    onlineHint: 'An operator will reply in a minute',
    offline: 'We will answer soon',
    offlineHint: 'Leave a message — we will reply right here',
    connecting: 'Connecting…',
    reconnecting: 'Connection lost. Reconnecting…',
    placeholder: 'Type a message…',
    send: 'Send',
    minimize: 'Minimize chat',
    sending: 'sending…',
    typing: '{name} is typing…',
    operator: 'Operator',
    you: 'You',
    joined: '{name} joined the chat',
    closed: 'The chat has ended. Write again any time.',
    tooLong: 'The message is too long (at most 8 KB). Please shorten it.',
    rateLimited: 'You are sending too fast; retrying…',
    noSite: 'The chat is not available on this site.',
    failed: 'The message could not be sent.',
    poweredBy: 'beseda',
    openChat: 'Open chat',
    unread: '{n} new',
  },
  ru: {
    title: 'Напишите нам',
    greeting: 'Здравствуйте! Чем можем помочь? Задайте вопрос — обычно мы отвечаем за пару минут.',
    online: 'Мы в сети',
    onlineHint: 'Оператор ответит через минуту',
    offline: 'Скоро ответим',
    offlineHint: 'Оставьте сообщение — мы ответим здесь же',
    connecting: 'Подключение…',
    reconnecting: 'Связь потеряна. Переподключаемся…',
    placeholder: 'Введите сообщение…',
    send: 'Отправить',
    minimize: 'Свернуть чат',
    sending: 'отправляется…',
    typing: '{name} печатает…',
    operator: 'Оператор',
    you: 'Вы',
    joined: '{name} подключился к чату',
    closed: 'Диалог завершён. Напишите снова в любое время.',
    tooLong: 'Сообщение слишком длинное (не более 8 КБ). Сократите его.',
    rateLimited: 'Слишком часто; повторяем отправку…',
    noSite: 'Чат недоступен на этом сайте.',
    failed: 'Сообщение не удалось отправить.',
    poweredBy: 'beseda',
    openChat: 'Открыть чат',
    unread: 'новых: {n}',
  },
};

export function pickLanguage(...candidates) {
  for (const c of candidates) {
    if (typeof c !== 'string') continue;
    const base = c.toLowerCase().split(/[-_]/)[0];
    if (STRINGS[base]) return base;
  }
  return 'en';
}

export function translator(lang) {
  const table = STRINGS[lang] || STRINGS.en;
  return (key, vars = {}) => {
    const template = table[key] !== undefined ? table[key] : (STRINGS.en[key] || key);
    return template.replace(/\{(\w+)\}/g, (_, name) => (vars[name] !== undefined ? String(vars[name]) : ''));
  };
}
