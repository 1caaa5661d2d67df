"""How both documents write the worked example's numbers: one rule for their tables, hand calculations and text.

A number *given* to the example (an input, a target, a starting weight or bias, the learning rate, the decay
coefficient) is written as it was given: the shortest decimal that reads back as the same number, so an integer has
no decimal point ("1", "-0.53"). A number the example *computes* is written to six decimals ("0.007060"), so that
a column of them lines up and a reader can tell a value from its rounding. Neither is ever written "-0". A number
too large or too small for that (a computed one from a million on, or below 0.001 but not zero, which six decimals
would cut to three digits or fewer: the vanishing gradients of a deep net; a given one that Python would write with
an exponent) is a mantissa times a power of ten, the computed ones to four significant digits ("2.134 × 10⁻⁵");
each format writes the product its own way from :func:`parts`.
Adam's moments (``small=True``) keep six significant digits instead: the second is (1 − β2) g², which its
correction divides by 0.001, and four digits would not give back the corrected moment's six decimals by hand.
"""

from __future__ import annotations

import math

#: a computed number is written to this many decimals
DECIMALS = 6
#: from this size on, a computed number is written as a mantissa times a power of ten
LARGE = 1e6
#: below this size (and not zero), a computed number is written as a mantissa times a power of ten
SMALL = 1e-3
#: significant digits of a computed number written with a power of ten
SIGNIFICANT = 4
#: significant digits of a given number: enough for any number typed or rounded by hand, no float noise
GIVEN_DIGITS = 15
#: significant digits of a small number printed with ``small=True`` (Adam's moments): enough that a correction
#: dividing it by 1 − β2 (0.001) comes out, redone by hand, as the six decimals the document prints
SMALL_DIGITS = 6


def parts(value: float, given: bool = False, small: bool = False) -> tuple[str, int | None]:
    """The mantissa of ``value`` as text and its power of ten (None: no power, the mantissa is the number).

    ``small``: a computed number below SMALL in size (not zero) keeps SMALL_DIGITS significant digits, not SIGNIFICANT.

    >>> parts(1.0, given=True), parts(-0.53, given=True), parts(0.1 + 0.2, given=True)
    (('1', None), ('-0.53', None), ('0.3', None))
    >>> parts(0.00706), parts(-2.1339e-5), parts(0.0), parts(12005999999000000512.0)
    (('0.007060', None), ('-2.134', -5), ('0.000000', None), ('1.200600', 19))
    >>> parts(-0.0, given=True), parts(2.5e-05, given=True)
    (('0', None), ('2.5', -5))
    >>> parts(1.0210955e-05, small=True), parts(0.0102110, small=True), parts(0.0, small=True)
    (('1.02110', -5), ('0.010211', None), ('0.000000', None))
    """
    if not math.isfinite(value):  # the example refuses numbers that overflow; this must not be reached
        raise ValueError(f"a non-finite number ({value}) would be printed in the document")
    if given:
        text = f"{value:.{GIVEN_DIGITS}g}"
    elif abs(value) >= LARGE:
        text = f"{value:.{DECIMALS}e}"
    elif 0 < abs(value) < SMALL:
        text = f"{value:.{(SMALL_DIGITS if small else SIGNIFICANT) - 1}e}"
    else:
        text = f"{value:.{DECIMALS}f}"
    mantissa, _, exponent = text.partition("e")
    if mantissa.startswith("-") and float(mantissa) == 0:
        mantissa = mantissa[1:]
    return mantissa, (int(exponent) if exponent else None)


def plain(value: float, given: bool = False, small: bool = False) -> str:
    """``value`` as one plain-text number (``e`` before a power of ten): what a reader would type into a calculator.

    >>> plain(1.0, given=True), plain(0.00706), plain(2.5e-05, given=True)
    ('1', '0.007060', '2.5e-5')
    """
    mantissa, exponent = parts(value, given, small)
    return mantissa if exponent is None else f"{mantissa}e{exponent}"


def latex(value: float, given: bool = False, small: bool = False) -> str:
    """``value`` in LaTeX (math or text mode).

    >>> latex(-0.79, given=True), latex(12005999999000000512.0)
    ('-0.79', '\\\\ensuremath{1.200600\\\\times 10^{19}}')
    """
    mantissa, exponent = parts(value, given, small)
    return mantissa if exponent is None else r"\ensuremath{%s\times 10^{%d}}" % (mantissa, exponent)


def html(value: float, given: bool = False, small: bool = False) -> str:
    """``value`` in HTML text, with a true minus sign.

    >>> html(-0.79, given=True), html(12005999999000000512.0), html(-2.5e-4)
    ('−0.79', '1.200600 × 10<sup>19</sup>', '−2.500 × 10<sup>−4</sup>')
    """
    mantissa, exponent = parts(value, given, small)
    mantissa = mantissa.replace("-", "−")
    return mantissa if exponent is None else f"{mantissa} × 10<sup>{exponent}</sup>".replace("-", "−")
