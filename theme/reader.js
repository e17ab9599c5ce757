// Small accessibility and print fixes to mdBook's page, and the "report an error" link.
//
// - The sidebar toggle is a <label> (for a hidden checkbox) carrying button attributes: give it
//   the button role, a place in the Tab order, and Enter/Space, as a real button has.
// - A code block too wide for its box scrolls sideways; keyboard users scroll it too once it can
//   take the focus (WCAG 2.1.1): such blocks get tabindex="0".
// - Printing (print.html, and `cargo xtask pdf`) shows the answers to the questions.
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

    const focusableWhenScrolling = () => {
        for (const code of document.querySelectorAll('pre > code')) {
            if (code.scrollWidth > code.clientWidth + 1) {
                code.tabIndex = 0;
            } else if (code.getAttribute('tabindex') === '0') {
                code.removeAttribute('tabindex');
            }
        }
    };
    focusableWhenScrolling();
    window.addEventListener('resize', focusableWhenScrolling);

    window.addEventListener('beforeprint', () => {
        for (const details of document.querySelectorAll('details.answer')) {
            details.open = true;
        }
    });

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
