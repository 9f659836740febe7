// sonodiff for Ableton Live: the Live API half (Max [js], not Node). Receives `clip <path> <bars>`
// from [node.script sonodiff-live.mjs] and puts the file into the first empty Session slot of the
// track this device sits on, names it, and launches it (on Live's global launch quantisation, so
// it starts on the bar). Needs Live 12.0.5 or newer (ClipSlot.create_audio_clip).
autowatch = 1;
inlets = 1;
outlets = 1;

var autoLaunch = 1;

function launch(on) {
  autoLaunch = on ? 1 : 0;
}

function clip(file, bars) {
  var track = new LiveAPI('this_device canonical_parent');
  if (!track || track.id == 0) {
    outlet(0, 'error', 'device is not on a track');
    return;
  }
  if (track.get('has_audio_input')[0] != 1) {
    outlet(0, 'error', 'put the device on an audio track');
    return;
  }
  var slots = track.getcount('clip_slots');
  for (var i = 0; i < slots; i++) {
    var slot = new LiveAPI(track.unquotedpath + ' clip_slots ' + i);
    if (slot.get('has_clip')[0] == 0) {
      slot.call('create_audio_clip', file);
      var c = new LiveAPI(track.unquotedpath + ' clip_slots ' + i + ' clip');
      var name = file.split(/[\\/]/).pop().replace(/\.wav$/i, '');
      c.set('name', name);
      c.set('looping', 1);
      if (autoLaunch) slot.call('fire');
      outlet(0, 'created', i, bars);
      return;
    }
  }
  outlet(0, 'error', 'no empty clip slot on this track');
}
