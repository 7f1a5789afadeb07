// The portal's rich-text editor (Tiptap): loaded on the editor page only. It enhances every
// <textarea data-rich-editor>: the textarea stays in the form, hidden, and always holds the
// editor's HTML, so the form posts HTML as without JavaScript (where the textarea is used as is).
// The server sanitises whatever arrives (xietong.core.richtext).
import { Editor } from '@tiptap/core';
import StarterKit from '@tiptap/starter-kit';
import Image from '@tiptap/extension-image';
import { Placeholder } from '@tiptap/extensions';

import './editor.css';

// The stylesheet esbuild writes beside this bundle (dist/editor.css), linked once.
const SCRIPT = document.currentScript;

function linkStyles() {
  if (!SCRIPT || !SCRIPT.src || document.querySelector('link[data-xt-editor-style]')) return;
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = SCRIPT.src.replace(/editor\.js(\?.*)?$/, 'editor.css');
  link.dataset.xtEditorStyle = '';
  document.head.append(link);
}

// Labels go through Django's JavaScript catalogue (loaded before this file) when present.
const t = (text) => (typeof window.gettext === 'function' ? window.gettext(text) : text);

const BUTTONS = [
  ['bold', 'type-bold', t('加粗'), (e) => e.chain().focus().toggleBold().run(), (e) => e.isActive('bold')],
  ['italic', 'type-italic', t('斜体'), (e) => e.chain().focus().toggleItalic().run(), (e) => e.isActive('italic')],
  ['underline', 'type-underline', t('下划线'), (e) => e.chain().focus().toggleUnderline().run(), (e) => e.isActive('underline')],
  ['strike', 'type-strikethrough', t('删除线'), (e) => e.chain().focus().toggleStrike().run(), (e) => e.isActive('strike')],
  null,
  ['h2', 'type-h2', t('标题'), (e) => e.chain().focus().toggleHeading({ level: 2 }).run(), (e) => e.isActive('heading', { level: 2 })],
  ['h3', 'type-h3', t('小标题'), (e) => e.chain().focus().toggleHeading({ level: 3 }).run(), (e) => e.isActive('heading', { level: 3 })],
  ['bullet', 'list-ul', t('项目列表'), (e) => e.chain().focus().toggleBulletList().run(), (e) => e.isActive('bulletList')],
  ['ordered', 'list-ol', t('编号列表'), (e) => e.chain().focus().toggleOrderedList().run(), (e) => e.isActive('orderedList')],
  ['quote', 'quote', t('引用'), (e) => e.chain().focus().toggleBlockquote().run(), (e) => e.isActive('blockquote')],
  ['rule', 'hr', t('分隔线'), (e) => e.chain().focus().setHorizontalRule().run(), () => false],
  null,
  ['link', 'link-45deg', t('链接'), (e) => setLink(e), (e) => e.isActive('link')],
  ['image', 'image', t('插入图片'), null, () => false],
  null,
  ['undo', 'arrow-counterclockwise', t('撤销'), (e) => e.chain().focus().undo().run(), () => false],
  ['redo', 'arrow-clockwise', t('重做'), (e) => e.chain().focus().redo().run(), () => false],
];

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)xietong_csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const field = document.querySelector('input[name=csrfmiddlewaretoken]');
  return field ? field.value : '';
}

function setLink(editor) {
  const previous = editor.getAttributes('link').href || '';
  const url = window.prompt(t('链接地址（留空则取消链接）'), previous || 'https://');
  if (url === null) return;
  if (url === '' || url === 'https://') {
    editor.chain().focus().extendMarkRange('link').unsetLink().run();
    return;
  }
  editor.chain().focus().extendMarkRange('link').setLink({ href: url }).run();
}

async function uploadImage(editor, file, url, status) {
  const body = new FormData();
  body.append('image', file);
  status.textContent = `${t('正在上传')} ${file.name}…`;
  try {
    const response = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'X-CSRFToken': csrfToken() },
      credentials: 'same-origin',
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      status.textContent = answer.error || t('图片上传失败，请重试。');
      return;
    }
    editor.chain().focus().setImage({ src: answer.url, alt: answer.name || '' }).run();
    status.textContent = t('图片已插入。');
  } catch {
    status.textContent = t('网络错误，图片未能上传。');
  }
}

function enhance(textarea) {
  const shell = document.createElement('div');
  shell.className = 'xt-editor-shell';
  const toolbar = document.createElement('div');
  toolbar.className = 'xt-editor-toolbar';
  toolbar.setAttribute('role', 'toolbar');
  toolbar.setAttribute('aria-label', t('正文格式'));
  const content = document.createElement('div');
  content.className = 'xt-editor-content';
  const status = document.createElement('div');
  status.className = 'xt-editor-status';
  status.setAttribute('aria-live', 'polite');
  const picker = document.createElement('input');
  picker.type = 'file';
  picker.accept = 'image/png,image/jpeg,image/gif,image/webp';
  picker.hidden = true;
  shell.append(toolbar, content, status, picker);
  textarea.insertAdjacentElement('beforebegin', shell);
  textarea.hidden = true;

  const editor = new Editor({
    element: content,
    extensions: [
      StarterKit.configure({
        heading: { levels: [2, 3, 4] },
        link: { openOnClick: false, autolink: true, protocols: ['http', 'https', 'mailto'] },
      }),
      Image.configure({ inline: false }),
      Placeholder.configure({ placeholder: textarea.dataset.placeholder || '' }),
    ],
    content: textarea.value,
    editorProps: {
      attributes: { 'aria-label': t('正文'), role: 'textbox', 'aria-multiline': 'true', id: `${textarea.id}-editor` },
      handlePaste: (view, event) => {
        const file = [...(event.clipboardData?.files || [])].find((f) => f.type.startsWith('image/'));
        if (!file) return false;
        uploadImage(editor, file, textarea.dataset.uploadUrl, status);
        return true;
      },
    },
    onUpdate: ({ editor: current }) => {
      textarea.value = current.isEmpty ? '' : current.getHTML();
    },
  });

  const buttons = [];
  for (const spec of BUTTONS) {
    if (spec === null) {
      const sep = document.createElement('span');
      sep.className = 'xt-sep';
      toolbar.append(sep);
      continue;
    }
    const [name, icon, label, run, active] = spec;
    if (name === 'image' && !textarea.dataset.uploadUrl) continue;
    const button = document.createElement('button');
    button.type = 'button';
    button.title = label;
    button.setAttribute('aria-label', label);
    button.dataset.command = name;
    button.innerHTML = `<i class="bi bi-${icon}" aria-hidden="true"></i>`;
    button.addEventListener('click', () => (run ? run(editor) : picker.click()));
    toolbar.append(button);
    buttons.push([button, active]);
  }
  picker.addEventListener('change', () => {
    const [file] = picker.files;
    if (file) uploadImage(editor, file, textarea.dataset.uploadUrl, status);
    picker.value = '';
  });
  const refresh = () => {
    for (const [button, active] of buttons) {
      const on = active(editor);
      button.classList.toggle('is-active', on);
      button.setAttribute('aria-pressed', String(on));
    }
  };
  editor.on('selectionUpdate', refresh);
  editor.on('transaction', refresh);
  textarea.form?.addEventListener('submit', () => {
    textarea.value = editor.isEmpty ? '' : editor.getHTML();
  });
  textarea.editor = editor;
}

linkStyles();
document.addEventListener('DOMContentLoaded', () => {
  document.querySelectorAll('textarea[data-rich-editor]').forEach(enhance);
});
