"""The face mesh's topology: named index tables and measures on landmark arrays.

Everything here works on plain arrays, ``(478, 2) float32``, ``(x, y)`` in image pixels, in
MediaPipe's topology (468 mesh points + 10 iris points with ``refine_landmarks=True``). The
tracker itself (the only code that runs MediaPipe) is ``reactive.io.tracker``; a raw landmark
index written anywhere else should be a name from this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_LANDMARKS = 478
N_MESH = 468  # without the iris points

# Ordered loops (polygons), from MediaPipe's FACEMESH_* edge sets.
FACE_OVAL = np.array([
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109])
LIPS_OUTER = np.array([
    61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146])
LIPS_INNER = np.array([
    78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95])
# "left"/"right" are the subject's, as in MediaPipe.
LEFT_EYE = np.array([362, 382, 381, 380, 374, 373, 390, 249, 263, 466, 388, 387, 386, 385, 384, 398])
RIGHT_EYE = np.array([33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246])
LEFT_BROW = np.array([276, 282, 283, 285, 293, 295, 296, 300, 334, 336])
RIGHT_BROW = np.array([46, 52, 53, 55, 63, 65, 66, 70, 105, 107])
LEFT_IRIS = np.arange(473, 478)   # centre first
RIGHT_IRIS = np.arange(468, 473)
NOSE_TIP = 1
# Single points, image-left first where there are two.
MOUTH_CORNERS = (61, 291)        # outer lip contour
INNER_MOUTH_CORNERS = (78, 308)  # inner lip contour
UPPER_LIP_TOP = 0                # middle of the upper lip, outer edge
UPPER_LIP_BOTTOM = 13            # ... inner edge
LOWER_LIP_TOP = 14               # middle of the lower lip, inner edge
LOWER_LIP_BOTTOM = 17            # ... outer edge
CHIN = 152
CHEEK_EDGES = (234, 454)         # the face oval's widest points, at the ears
# The inner lips without their corners, image-left to image-right.
UPPER_INNER_LIP = np.array([191, 80, 81, 82, 13, 312, 311, 310, 415])
LOWER_INNER_LIP = np.array([95, 88, 178, 87, 14, 317, 402, 318, 324])
# The jaw line: the face oval's lower part, from the subject's right jaw angle round the
# chin (152) to the left one.
JAW_LINE = FACE_OVAL[10:27][::-1].copy()
# The lower lip's outer edge, from the image-left mouth corner to the image-right one.
LOWER_LIP_OUTER = np.array([61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291])


@dataclass(frozen=True)
class EyeTopology:
    """Mesh indices of one eye, pairs ordered along the eye from the image's left corner."""

    contour: np.ndarray     # (16,) closed loop, as lm.LEFT_EYE / lm.RIGHT_EYE
    corners: tuple[int, int]  # (image-left corner, image-right corner)
    upper: np.ndarray       # (7,) upper lid margin
    lower: np.ndarray       # (7,) lower lid margin, lower[k] under upper[k]
    upper_skin: np.ndarray  # (7,) first ring above the upper lid, above upper[k]
    crease: np.ndarray      # (7,) second ring above (under the brow)
    lower_skin: np.ndarray  # (7,) first ring below the lower lid
    ring_ends: tuple[int, ...]  # closing the first ring around the eye at the corners
    iris: int               # iris centre; the next four are its rim points
    # The second ring below the eye, from beyond the outer corner. It does not move with the
    # lids; it widens what a closed lid may cover: a drawn eye (a cartoon's) is often larger
    # than the mesh's, its white and rim reaching past the first ring.
    outer_ring: np.ndarray  # (8,)
    # The lid patch's outer boundary, clockwise in the image: the crease ring from its
    # image-left end, the outer ring end on the right, the second ring below from right to
    # left, the outer ring end on the left.
    outline: np.ndarray  # (17,)

    @property
    def lid_patch(self) -> np.ndarray:
        """The opening, the lids, the first ring of skin around them, the crease ring and
        the second ring below (49 points): all the skin that moves when the lids close, and
        all that a closed lid may cover."""
        return np.concatenate([self.contour, self.upper_skin, self.lower_skin,
                               self.ring_ends, self.crease, self.outer_ring])


# Checked on MediaPipe's canonical mesh and on s42 (index plot): each column is one vertical
# line across the eye, from the brow side down.
RIGHT_EYE_TOPOLOGY = EyeTopology(
    contour=RIGHT_EYE, corners=(33, 133),
    upper=np.array([246, 161, 160, 159, 158, 157, 173]),
    lower=np.array([7, 163, 144, 145, 153, 154, 155]),
    upper_skin=np.array([247, 30, 29, 27, 28, 56, 190]),
    crease=np.array([113, 225, 224, 223, 222, 221, 189]),
    lower_skin=np.array([25, 110, 24, 23, 22, 26, 112]),
    ring_ends=(130, 226, 243, 244),
    iris=468,
    outer_ring=np.array([35, 31, 228, 229, 230, 231, 232, 233]),
    outline=np.array([113, 225, 224, 223, 222, 221, 189, 244,
                      233, 232, 231, 230, 229, 228, 31, 35, 226]))
LEFT_EYE_TOPOLOGY = EyeTopology(
    contour=LEFT_EYE, corners=(362, 263),
    upper=np.array([398, 384, 385, 386, 387, 388, 466]),
    lower=np.array([382, 381, 380, 374, 373, 390, 249]),
    upper_skin=np.array([414, 286, 258, 257, 259, 260, 467]),
    crease=np.array([413, 441, 442, 443, 444, 445, 342]),
    lower_skin=np.array([341, 256, 252, 253, 254, 339, 255]),
    ring_ends=(463, 464, 359, 446),
    iris=473,
    outer_ring=np.array([265, 261, 448, 449, 450, 451, 452, 453]),
    outline=np.array([413, 441, 442, 443, 444, 445, 342, 446,
                      265, 261, 448, 449, 450, 451, 452, 453, 464]))
# Index 0 = the subject's left eye, 1 = right (as ``lids.lid_closure`` orders them).
EYES = (LEFT_EYE_TOPOLOGY, RIGHT_EYE_TOPOLOGY)


# Sec. 4: phi is fitted on "the landmarks located in the eye regions and the tip of the nose".
PHI_POINTS = np.concatenate([LEFT_EYE, RIGHT_EYE, [NOSE_TIP]])
# Rigid-ish points for a per-frame head similarity: eye corners and the nose ridge move little
# with expression, unlike lids (blinks), brows and mouth.
STABLE_POINTS = np.array([33, 133, 362, 263, 168, 6, 197, 195, 5, 4, NOSE_TIP])
# Where expression shows; used by checks and by the fidelity measurements.
EXPRESSION_POINTS = np.concatenate([LIPS_OUTER, LIPS_INNER, LEFT_BROW, RIGHT_BROW, LEFT_EYE,
                                    RIGHT_EYE])


def _dist(p: np.ndarray, a: int, b: int) -> np.ndarray:
    return np.linalg.norm(p[..., a, :] - p[..., b, :], axis=-1)


def interocular(points: np.ndarray) -> np.ndarray:
    """Distance between the eye centres. ``points`` : (..., 478, 2). Returns (...)."""
    left = points[..., LEFT_EYE, :].mean(axis=-2)
    right = points[..., RIGHT_EYE, :].mean(axis=-2)
    return np.linalg.norm(left - right, axis=-1)


def mouth_open_ratio(points: np.ndarray) -> np.ndarray:
    """Inner-lip gap over mouth width (0 = closed). ``points`` : (..., 478, 2)."""
    return (_dist(points, UPPER_LIP_BOTTOM, LOWER_LIP_TOP)
            / np.maximum(_dist(points, *MOUTH_CORNERS), 1e-6))


def lid_gaps_across(points: np.ndarray, upper, lower, corners: tuple[int, int]) -> np.ndarray:
    """Lid gaps across the eye over its width: for each pair ``upper[k]`` / ``lower[k]``,
    the component of their distance perpendicular to the line through the eye's
    ``corners``, over the corner distance. ``points`` : (..., 478, 2); returns (..., K).

    Across, not the straight distance: the mesh's paired lid points are not above one
    another on every face. On the Mona Lisa and on s0 the middle pair (159 over 145) sits
    0.12-0.15 eye widths apart *along* the eye, open or closed, so a straight distance
    hardly reads a closed eye below 0.1 there: a real closed eye (d3's, pasted onto the
    Mona Lisa) reads 0.11-0.12 that way, 0.03-0.07 across.
    """
    a = points[..., corners[0], :]
    v = points[..., corners[1], :] - a
    width = np.maximum(np.linalg.norm(v, axis=-1), 1e-6)
    gap = points[..., list(upper), :] - points[..., list(lower), :]
    cross = gap[..., 0] * v[..., None, 1] - gap[..., 1] * v[..., None, 0]
    return np.abs(cross) / (width[..., None] ** 2)


def eye_open_ratio(points: np.ndarray) -> np.ndarray:
    """Eye aspect ratio from the middle lid pair, mean of both eyes (~0.35 open, < 0.1
    closed): the gap across the eye over its width (``lid_gaps_across``).
    ``points`` : (..., 478, 2); returns (...)."""
    left, right = (lid_gaps_across(points, eye.upper[3:4], eye.lower[3:4], eye.corners)[..., 0]
                   for eye in EYES)
    return 0.5 * (left + right)


def smile_ratio(points: np.ndarray) -> np.ndarray:
    """How far the lip corners sit above the lips' middle, over mouth width, measured
    across the eye line (0 level; ~0.1 and up a smile). ``points`` : (478, 2)."""
    right = points[RIGHT_EYE].mean(axis=0)
    left = points[LEFT_EYE].mean(axis=0)
    x_axis = (left - right) / max(float(np.linalg.norm(left - right)), 1e-6)
    y_axis = np.array([-x_axis[1], x_axis[0]])
    middle = 0.5 * (points[UPPER_LIP_BOTTOM] + points[LOWER_LIP_TOP]) @ y_axis
    corners = 0.5 * (points[MOUTH_CORNERS[0]] + points[MOUTH_CORNERS[1]]) @ y_axis
    return (middle - corners) / max(float(_dist(points, *MOUTH_CORNERS)), 1e-6)


def yaw_ratio(points: np.ndarray) -> np.ndarray:
    """Signed head-turn estimate: 0 frontal, +-1 profile (nose tip between the cheeks)."""
    to_right = _dist(points, NOSE_TIP, CHEEK_EDGES[0])
    to_left = _dist(points, NOSE_TIP, CHEEK_EDGES[1])
    return (to_left - to_right) / np.maximum(to_left + to_right, 1e-6)


def face_polygon(points: np.ndarray) -> np.ndarray:
    """The face oval as a closed polygon, (36, 2) float32."""
    return np.ascontiguousarray(points[FACE_OVAL], dtype=np.float32)
