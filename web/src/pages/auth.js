// Sign in and sign up: browser sign-ins (`kind: "browser"`), which set the HttpOnly cookies and
// the CSRF cookie the API client reads.
import { html } from "lit-html";
import { api } from "../api.js";
import { act, fields } from "../ui.js";

function form(app, { title, submit, other, withName }) {
  const onSubmit = (event) => {
    const f = fields(event);
    const body = { email: f.email, password: f.password, kind: "browser" };
    if (withName && f.name) body.name = f.name;
    act(app, () => api("POST", submit.path, body), () => app.signedIn());
  };
  const next = location.search;
  return {
    title,
    view: () => html`<section class="narrow">
      <h1 tabindex="-1">${title}</h1>
      <form @submit=${onSubmit} class="stack">
        ${withName
          ? html`<label>Name <input name="name" autocomplete="name" maxlength="100"></label>`
          : ""}
        <label>Email <input name="email" type="email" autocomplete="username" required></label>
        <label>Password
          <input name="password" type="password" minlength="8"
            autocomplete=${withName ? "new-password" : "current-password"} required></label>
        <button type="submit" class="primary" ?disabled=${app.busy}>${submit.label}</button>
      </form>
      <p>${other.text} <a href=${other.href + next}>${other.link}</a></p>
    </section>`,
  };
}

export const signInPage = (app) =>
  form(app, {
    title: "Sign in",
    submit: { path: "/api/auth/login", label: "Sign in" },
    other: { text: "No account yet?", href: "/signup", link: "Sign up" },
  });

export const signUpPage = (app) =>
  form(app, {
    title: "Sign up",
    withName: true,
    submit: { path: "/api/auth/register", label: "Create account" },
    other: { text: "Have an account?", href: "/signin", link: "Sign in" },
  });
