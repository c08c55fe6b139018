// The widget's UI strings in English and Russian; the language comes from the
// host page or the browser. Unknown languages fall back to English. (The
// operator console has its own: web/console/i18n/.)

const STRINGS = {
  en: {
    title: 'Chat with us',
    greeting: 'Hello! How can we help you? Ask us anything — we usually reply within a few minutes.',
    online: 'We are online',
    onlineHint: 'An operator will reply in a minute',
    offline: 'We will answer soon',
    offlineHint: 'Leave a message — we will reply right here',
    closedHint: 'Leave a message — we will reply by e-mail',
    missedStatus: 'Nobody is free right now',
    newChat: 'Start a new chat',
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
    formName: 'Name', formEmail: 'E-mail', formPhone: 'Phone', formMessage: 'Message',
    formRequired: 'Please fill in the required fields.', formBadEmail: 'Please check the e-mail address.',
    formContact: 'Leave an e-mail or a phone number so that we can answer.', formFailed: 'It could not be sent; please try again.',
    formNoThanks: 'No, thanks',
    surveyTitle: 'Before we start', surveyIntro: 'Tell us a little about yourself so that the right person answers.', surveyStart: 'Start the chat',
    offlineTitle: 'Leave us a message', offlineIntro: 'Nobody can answer right now. Leave a message and we will reply by e-mail or phone.',
    offlineMissed: 'Sorry, nobody could answer in time. Leave a message and we will get back to you.',
    offlineSend: 'Send', offlineThanks: 'Thank you! We got your message and will answer soon.',
    transcriptTitle: 'Get this conversation by e-mail', transcriptSend: 'Send', transcriptThanks: 'We will send this conversation to your e-mail.',
  },
  ru: {
    title: 'Напишите нам',
    greeting: 'Здравствуйте! Чем можем помочь? Задайте вопрос — обычно мы отвечаем за пару минут.',
    online: 'Мы в сети',
    onlineHint: 'Оператор ответит через минуту',
    offline: 'Скоро ответим',
    offlineHint: 'Оставьте сообщение — мы ответим здесь же',
    closedHint: 'Оставьте сообщение — мы ответим по почте',
    missedStatus: 'Сейчас все заняты',
    newChat: 'Начать новый чат',
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
    formName: 'Имя', formEmail: 'E-mail', formPhone: 'Телефон', formMessage: 'Сообщение',
    formRequired: 'Заполните обязательные поля.', formBadEmail: 'Проверьте адрес e-mail.',
    formContact: 'Оставьте e-mail или телефон, чтобы мы могли ответить.', formFailed: 'Не удалось отправить; попробуйте ещё раз.',
    formNoThanks: 'Нет, спасибо',
    surveyTitle: 'Перед началом', surveyIntro: 'Расскажите немного о себе, чтобы ответил нужный специалист.', surveyStart: 'Начать чат',
    offlineTitle: 'Оставьте сообщение', offlineIntro: 'Сейчас никто не может ответить. Оставьте сообщение — мы ответим по почте или телефону.',
    offlineMissed: 'К сожалению, никто не успел ответить. Оставьте сообщение — мы свяжемся с вами.',
    offlineSend: 'Отправить', offlineThanks: 'Спасибо! Мы получили сообщение и скоро ответим.',
    transcriptTitle: 'Получить переписку на e-mail', transcriptSend: 'Отправить', transcriptThanks: 'Мы отправим переписку на вашу почту.',
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
