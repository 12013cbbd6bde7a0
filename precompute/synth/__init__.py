"""Procedural clip packs: a parametric expression model over the face mesh, no driving video.

The built-in clips (idle, blink, smile, laugh, surprise, sad, angry, nod, look_left,
look_right) are made here from facial anatomy and written as ordinary clip packs, exactly as if
a 512x512 driving video had been tracked (``track.py``): 478 landmarks per frame, peripheral
points, the per-frame head similarity, mouth crops. The player cannot tell them apart.

The model
---------
- A neutral face template: 478 x 3 points (MediaPipe topology, iris included) in
  *template units*: origin between the eye centres, 1 = the inter-ocular distance, x to the
  image's right, y down, z away from the camera. It is measured once from the bundled sample
  portrait (``measure_template``, the only function here that runs MediaPipe) and stored in
  ``face_template.json``; at load it is made symmetric and neutral (``neutral_template``:
  mouth closed by the jaw model run backwards, the photo's smile relaxed by AU12 run
  backwards), so generation is pure arithmetic on that file.
- Action units (FACS) as displacement fields on the template, with smooth compactly supported
  falloffs and anatomical directions (``FaceModel``):
  AU1/AU2 inner/outer brow raiser, AU4 brow lowerer, AU5 upper lid raiser, AU6 cheek raiser,
  AU7 lid tightener, AU9 nose wrinkler, AU12 lip corner puller, AU15 lip corner depressor,
  AU17 chin raiser, AU20 lip stretcher, AU24 lip pressor, AU25 lips part; AU26 jaw drop and
  AU27 mouth stretch rotate the lower lip, chin and jaw about the jaw joint (skinned weights);
  AU43 eyes closed / AU45 blink bring each upper-lid point down onto its partner on the lower
  lid (full closure: eye aspect ratio 0); gaze (AU61-64 as ``gaze_x``/``gaze_y``) moves the
  irises inside the eye opening.
- Head pose (yaw, pitch, roll) rotates the 3D shape about a neck pivot; breathing lifts it a
  little; orthographic projection into a 512 x 512 driver frame (face ~213 px wide).
- Peripheral points (hair, ears, neck, shoulders) ride with the head: fully (hair, ears) or
  attenuated (neck, shoulders).
- Mouth crops are drawn, not photographed: skin, lips, and inside the inner lips a dark cavity
  with soft shading, a tongue low and an upper-teeth band (``teeth=False`` for paintings and
  cartoons), antialiased and slightly blurred, in the crop geometry of ``mouth.py``.
- Expression ratio images (fine details, ``details.py``'s encoding) hold soft creases per
  action unit: nasolabial folds (AU12), crow's feet (AU6), forehead lines (AU1, AU2), lines
  between the brows (AU4), wrinkles across the nose (AU9), darkening only.

Clips are keyframed action-unit curves with ease-in/ease-out, starting and ending neutral,
randomised (blink times, glances, sway) from a seed. Regeneration with the same seed gives the
same bytes. Frame synthesis uses only IEEE arithmetic (+ - * / sqrt, exactly rounded
everywhere), integer polygon filling and its own sin/cos series: no libm or SIMD
transcendentals and no BLAS, whose last bits can differ between CPUs. (The one-off template
preparation also runs scipy's assignment solver and k-d tree, whose answers are exact.)

``python -m precompute synth`` writes the packs (``precompute.cli``); ``write_clips`` is the
API. Modules: ``exact`` (portable arithmetic), ``template``, ``face_model``, ``choreography``,
``projection``, ``mouth_drawing``, ``creases``, ``packs``.
"""

from precompute.synth.choreography import CLIPS, Track, idle_blink_times
from precompute.synth.face_model import (
                                         AU_CHANNELS,
                                         EYES,
                                         LOWER_INNER,
                                         NEUTRAL_MOUTH_WIDTH,
                                         UPPER_INNER,
                                         FaceModel,
                                         face_model,
)
from precompute.synth.packs import DEFAULT_SEED, GENERATOR, clip_seed, synth_clip, write_clips
from precompute.synth.projection import SynthParams, project, quantize
from precompute.synth.template import (
                                         load_template,
                                         measure_template,
                                         mirror_pairs,
                                         normalise_points,
                                         save_template,
)

__all__ = ["AU_CHANNELS", "CLIPS", "DEFAULT_SEED", "EYES", "GENERATOR", "LOWER_INNER",
           "NEUTRAL_MOUTH_WIDTH", "UPPER_INNER", "FaceModel", "SynthParams", "Track",
           "clip_seed", "face_model", "idle_blink_times", "load_template", "measure_template",
           "mirror_pairs", "normalise_points", "project", "quantize", "save_template",
           "synth_clip", "write_clips"]
