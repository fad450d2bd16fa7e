// Log-in: username and password against /api/v1/auth/login; the token is
// kept in sessionStorage (this tab only, gone when the tab closes).

import { api, ApiError, saveSession } from '../api';
import { h } from '../format';
import { lang, setLang, t } from '../i18n';
import { homeFor, navigate } from '../nav';

export function renderLogin(root: HTMLElement, options: { next: string }): () => void {
  const paint = () => {
    const error = h('p', { class: 'form-error', id: 'login-error', role: 'alert', hidden: true });
    const username = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true, autofocus: true });
    const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
    const submit = h('button', { type: 'submit', id: 'login-submit', class: 'btn btn-primary btn-block' }, t('login.submit'));
    const form = h(
      'form',
      { class: 'login-card', id: 'login-form', novalidate: true },
      h('div', { class: 'login-brand' }, h('span', { class: 'brand-mark big' }, 'CL'), h('div', {}, h('h1', {}, t('app.title')), h('p', { class: 'muted' }, t('app.subtitle')))),
      h('h2', {}, t('login.title')),
      h('label', { for: 'username' }, t('login.username')),
      username,
      h('label', { for: 'password' }, t('login.password')),
      password,
      error,
      submit,
      h('p', { class: 'muted small' }, t('login.hint')),
      h('button', {
        type: 'button',
        class: 'btn-link',
        id: 'lang-toggle',
        onclick: () => {
          setLang(lang() === 'zh' ? 'en' : 'zh');
          paint();
        },
      }, t('menu.lang')),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.hidden = true;
      if (!username.value.trim() || !password.value) {
        error.textContent = t('login.required');
        error.hidden = false;
        return;
      }
      submit.disabled = true;
      try {
        const answer = await api.login(username.value.trim(), password.value);
        saveSession(answer.token, answer.user);
        // The same hash as now (a deep link that asked for log-in) must still re-route.
        navigate(options.next || homeFor(answer.user.role));
      } catch (caught) {
        error.textContent = `${t('login.failed')}：${caught instanceof ApiError ? caught.detail : String(caught)}`;
        error.hidden = false;
      } finally {
        submit.disabled = false;
      }
    });
    root.replaceChildren(h('main', { class: 'login-page' }, form));
  };
  paint();
  return () => {};
}
