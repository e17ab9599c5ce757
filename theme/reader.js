// Small accessibility and print fixes to mdBook's page, and the "report an error" link.
//
// - The sidebar toggle is a <label> (for a hidden checkbox) carrying button attributes: give it
//   the button role, a place in the Tab order, and Enter/Space, as a real button has.
// - A code block or table too wide for its box scrolls sideways: it gets the class `scrolls`,
//   which theme/book.css shows (a shadow, a line above the table), and keyboard users scroll it
//   too once it can take the focus (WCAG 2.1.1): tabindex="0".
// - On the print page (print.html, and `cargo xtask pdf`), each line of code becomes a block
//   that knows its indentation, so that a line wrapped at the page edge continues indented.
// - Next to mdBook's "Suggest an edit" link (book.toml's edit-url-template), a "Report an error"
//   link opens a new issue with the errata template, naming the page.
(() => {
    const toggle = document.getElementById('mdbook-sidebar-toggle');
    if (toggle && toggle.tagName === 'LABEL') {
        toggle.setAttribute('role', 'button');
        toggle.tabIndex = 0;
        toggle.addEventListener('keydown', (e) => {
            if (e.key === 'Enter' || e.key === ' ') {
                e.preventDefault();
                toggle.click();
            }
        });
    }

    const markScrolling = () => {
        for (const box of document.querySelectorAll('pre > code, .table-wrapper')) {
            const scrolls = box.scrollWidth > box.clientWidth + 1;
            box.classList.toggle('scrolls', scrolls);
            if (scrolls) {
                box.tabIndex = 0;
            } else if (box.getAttribute('tabindex') === '0') {
                box.removeAttribute('tabindex');
            }
        }
    };
    markScrolling();
    window.addEventListener('resize', markScrolling);

    // Split highlighted code into lines, closing and reopening the spans a line break cuts.
    if (/print\.html$/.test(location.pathname)) {
        for (const code of document.querySelectorAll('pre > code')) {
            const open = [];
            const lines = code.innerHTML.replace(/\n$/, '').split('\n').map((line) => {
                const start = open.join('');
                for (const tag of line.match(/<\/?span[^>]*>/g) || []) {
                    if (tag.startsWith('</')) open.pop(); else open.push(tag);
                }
                const indent = /^ */.exec(line.replace(/<[^>]*>/g, ''))[0].length;
                return `<span class="code-line" style="--indent: ${indent}ch">${start}${line}${'</span>'.repeat(open.length)}</span>`;
            });
            code.innerHTML = lines.join('');
        }
    }

    const edit = document.querySelector('a[rel="edit"]');
    const match = edit && /^(https:\/\/github\.com\/[^/]+\/[^/]+)\/edit\/[^/]+\/(.+)$/.exec(edit.href);
    if (match) {
        const [, repository, path] = match;
        const report = document.createElement('a');
        const title = `Erratum: ${path}`;
        report.href = `${repository}/issues/new?template=errata.yml&title=${encodeURIComponent(title)}`;
        report.title = 'Report an error on this page';
        report.setAttribute('aria-label', 'Report an error on this page');
        report.className = 'report-error';
        report.textContent = '⚑';
        edit.after(report);
    }
})();
